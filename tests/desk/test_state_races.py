"""The data's own rules, held by the database: one open state interval per agent, a disposition
of the call's organization. The races need PostgreSQL (set DATABASE_URL)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agents import services
from agents.models import AgentState, CallDisposition, Disposition
from calls.models import Call
from tests.conftest import race

pytestmark = pytest.mark.django_db(transaction=True)
needs_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="a real race needs PostgreSQL")


def test_the_database_refuses_a_second_open_interval(agent):
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentState.objects.create(organization=agent.organization, agent=agent, state="offline",
                                  started_at=timezone.now())


@needs_postgres
def test_racing_state_changes_leave_one_open_interval_and_no_overlap(tenant, agent, reasons):
    choices = [{"state": "paused", "pause_reason_id": reasons["Break"].pk}, {"state": "available"},
               {"state": "offline"}, {"state": "paused", "pause_reason_id": reasons["Lunch"].pk}]
    results = race(tenant, 8, lambda client, i: client.put(
        f"/api/v1/agents/{agent.pk}/state", choices[i % len(choices)], format="json"))

    assert {status for status, _ in results} == {200}
    intervals = list(AgentState.objects.filter(agent=agent).order_by("started_at", "id"))
    assert sum(1 for interval in intervals if interval.ended_at is None) == 1
    for before, after in zip(intervals, intervals[1:]):
        assert before.ended_at == after.started_at


@needs_postgres
def test_racing_starts_for_one_agent_place_one_call(tenant, agent):
    results = race(tenant, 8, lambda client, i: client.post(
        f"/api/v1/agents/{agent.pk}/calls", {"to": f"+9180000001{i:02d}"}, format="json"))

    assert sorted(status for status, _ in results) == [201] + [409] * 7
    assert {body["error"]["code"] for status, body in results if status == 409} == {"agent_busy"}
    assert Call.objects.filter(agent=agent).count() == 1
    assert AgentState.objects.get(agent=agent, ended_at__isnull=True).state == "on_call"


@needs_postgres
def test_the_database_refuses_a_disposition_of_another_organization(tenant, other_tenant, agent):
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    theirs = Disposition.objects.create(organization=other_tenant.organization, code="sale", label="Sale")
    with pytest.raises(IntegrityError), transaction.atomic():
        CallDisposition.objects.create(organization=tenant.organization, call=call, disposition=theirs)
