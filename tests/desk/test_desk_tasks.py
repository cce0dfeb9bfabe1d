"""The desk's scheduled tasks as the worker runs them: wrap-up ending, callbacks reminded and missed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import desk as desk_services
from agents import services
from agents.models import Callback
from agents.selectors import agent_state
from calls import lifecycle
from calls.models import CallStatus
from tests.desk.conftest import desk

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_ends_wrap_up_when_its_time_is_over(tenant, agent, run_tasks):
    desk(tenant, wrap_up_seconds=1)
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000118")
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")
    assert agent_state(agent=agent) == "wrap_up"

    run_tasks(wait=3)

    assert agent_state(agent=agent) == "available"


def test_a_due_callback_is_reminded_then_missed_when_nobody_calls(agent, run_tasks):
    callback = desk_services.callback_schedule(organization_id=agent.organization_id, agent=agent, number="+918000000111",
                                               due_at=timezone.now() + timedelta(seconds=1))
    run_tasks(wait=3)
    callback.refresh_from_db()
    assert callback.reminded_at is not None and callback.status == "pending"

    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - desk_services.CALLBACK_GRACE)
    assert desk_services.callbacks_mark_missed() == 1
    callback.refresh_from_db()
    assert callback.status == "missed"
