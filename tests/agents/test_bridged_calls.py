"""Click-to-call calls on the sandbox: both legs, each customer outcome, webhooks, one call per agent."""

import os

import pytest
from django.db import connection

from agents import services
from calls.models import Call, CallEvent
from tenants.errors import ServiceError
from tests.agents.conftest import AGENT_NUMBER
from tests.conftest import race

URL = "/superfone/api/customer/click-2-call"

pytestmark = pytest.mark.django_db(transaction=True)


def applied_statuses(call):
    return [event.status for event in CallEvent.objects.filter(call=call, applied=True)]


def test_it_rings_the_agent_then_bridges_the_customer_and_reports_the_hangup(tenant, agent, webhook_server, run_tasks):
    tenant.app.hangup_url = webhook_server.url("/hangup")
    tenant.app.save()

    call = services.agent_click_to_call(agent=agent, customer_number="+918000000101")
    run_tasks(wait=3)

    call.refresh_from_db()
    assert call.status == "completed"
    assert applied_statuses(call) == ["ringing", "answered", "in_progress", "completed"]
    legs = [event.payload.get("leg") for event in CallEvent.objects.filter(call=call, applied=True)]
    assert legs == ["agent", "customer", "customer", "customer"]
    assert CallEvent.objects.filter(call=call, status="ringing").get().payload["agent"] == AGENT_NUMBER
    assert webhook_server.paths() == ["/hangup"]  # no answer webhook: a bridged call needs no Stream JSON
    hangup = webhook_server.received[0].body
    assert (hangup["call_status"], hangup["from"], hangup["to"]) == ("COMPLETED", tenant.from_number, "+918000000101")


@pytest.mark.parametrize(
    ("customer", "status", "cause"),
    [("+918000000105", "busy", "17"), ("+918000000107", "failed", "41")],
)
def test_it_ends_with_the_customer_legs_outcome(tenant, agent, run_tasks, customer, status, cause):
    call = services.agent_click_to_call(agent=agent, customer_number=customer)
    run_tasks(wait=2)

    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == (status, cause)
    assert applied_statuses(call) == ["ringing", status]


def test_it_gives_up_on_a_customer_who_never_answers_at_the_ring_timeout(tenant, agent, run_tasks):
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000106")
    Call.objects.filter(pk=call.pk).update(ring_timeout=1)
    run_tasks(wait=3)

    call.refresh_from_db()
    assert call.status == "no_answer"
    assert applied_statuses(call) == ["ringing", "no_answer"]


def test_it_keeps_a_number_ending_in_8_on_until_the_agent_ends_it(tenant, agent, run_tasks):
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000108")
    run_tasks(wait=2)
    call.refresh_from_db()
    assert call.status == "in_progress"

    ended = services.agent_click_to_call_end(agent=agent, customer_number="+918000000108")
    run_tasks()

    assert ended.status == "completed"
    call.refresh_from_db()
    assert call.status == "completed" and call.hangup_cause == "16"


def test_it_frees_the_agent_once_the_call_is_over(tenant, agent, run_tasks):
    services.agent_click_to_call(agent=agent, customer_number="+918000000105")
    with pytest.raises(ServiceError) as refused:
        services.agent_click_to_call(agent=agent, customer_number="+918000000101")
    assert refused.value.status == 409

    run_tasks(wait=2)  # the first customer is busy: that call is over

    assert services.agent_click_to_call(agent=agent, customer_number="+918000000101").status == "queued"


def test_it_gives_one_call_and_nineteen_conflicts_to_twenty_concurrent_starts(tenant, agent):
    if connection.vendor != "postgresql":
        pytest.skip(
            "SKIPPED: the 20-way concurrent START test needs PostgreSQL "
            f"(DATABASE_URL is {os.environ.get('DATABASE_URL', 'unset: SQLite')}); CI runs it on PostgreSQL"
        )
    answers = race(tenant, 20, lambda client, index: client.get(
        URL, {"customer_number": f"+9180000003{index:02d}", "user_number": AGENT_NUMBER, "call_action": "START"}
    ))

    assert sorted(code for code, _ in answers) == [200] + [409] * 19
    assert {body["message"] for code, body in answers if code == 409} == {
        "Agent is already on a call; end it before starting another"
    }
    assert Call.objects.filter(agent=agent).count() == 1
