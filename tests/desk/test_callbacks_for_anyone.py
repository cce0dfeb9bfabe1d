"""Callbacks left for any agent of the organization: every console lists them, the first
agent to take one holds it, and the others' lists drop it."""

import json
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.utils import timezone

from agents import desk
from agents import services as agent_services
from agents.models import Callback
from tenants.errors import ServiceError
from tests.agents.conftest import PASSWORD, login
from tests.agents.test_consumers import socket
from tests.desk.test_console_desk import _csrf, post

TOMORROW = "2099-01-01T10:00"


def _colleague(tenant, username="chen", number="+919800000011"):
    return agent_services.agent_create(organization=tenant.organization, username=username, password=PASSWORD,
                                       number=number)


@pytest.mark.django_db
def test_a_callback_left_for_anyone_is_listed_to_every_agent_and_held_by_the_first_to_take_it(
    agent_client, agent, tenant
):
    colleague = _colleague(tenant)
    theirs = _csrf(login(colleague.user))
    mine = _csrf(agent_client)

    made = post(mine, "/console/callbacks", {"number": "+918000000111", "due_at": TOMORROW, "anyone": True})
    assert made.status_code == 200, made.json()
    callback = made.json()["callback"]
    assert callback["agent_id"] is None
    for client in (mine, theirs):
        assert [c["id"] for c in client.get("/console/state").json()["callbacks"]] == [callback["id"]]
    # Nobody holds it yet, so nobody can close it from the console.
    assert post(theirs, f"/console/callbacks/{callback['id']}/done", {}).status_code == 404

    taken = post(theirs, f"/console/callbacks/{callback['id']}/take", {})
    assert taken.status_code == 200
    assert taken.json()["callback"]["agent_id"] == colleague.pk
    assert post(theirs, f"/console/callbacks/{callback['id']}/take", {}).status_code == 200  # asked again: still theirs
    late = post(mine, f"/console/callbacks/{callback['id']}/take", {})
    assert (late.status_code, late.json()["message"]) == (
        409, "Another agent has taken this callback, or it is no longer pending")
    assert mine.get("/console/state").json()["callbacks"] == []
    assert [c["id"] for c in theirs.get("/console/state").json()["callbacks"]] == [callback["id"]]
    assert post(theirs, f"/console/callbacks/{callback['id']}/done", {}).json()["callback"]["status"] == "done"


@pytest.mark.django_db
def test_an_agent_of_another_organization_cannot_see_or_take_it(agent, tenant, other_agent):
    callback = desk.callback_schedule(organization_id=tenant.organization.pk, agent=None, number="+918000000111",
                                      due_at=timezone.now() + timedelta(days=1))
    outsider = _csrf(login(other_agent.user))

    assert outsider.get("/console/state").json()["callbacks"] == []
    refused = post(outsider, f"/console/callbacks/{callback.pk}/take", {})
    assert (refused.status_code, refused.json()["message"]) == (404, "Callback not found")
    assert Callback.objects.get(pk=callback.pk).agent_id is None


@pytest.mark.django_db
def test_the_api_schedules_a_callback_for_anyone_and_asks_for_exactly_one_holder(tenant, agent):
    made = tenant.api.post("/api/v1/callbacks", {"anyone": True, "number": "+918000000111",
                                                 "due_at": "2099-01-01T10:00:00Z"}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["agent_id"] is None
    listed = tenant.api.get("/api/v1/callbacks").json()["results"]
    assert [(c["id"], c["agent_id"]) for c in listed] == [(made.json()["id"], None)]

    for body in ({"agent_id": agent.pk, "anyone": True}, {}):
        refused = tenant.api.post("/api/v1/callbacks", {**body, "number": "+918000000111",
                                                        "due_at": "2099-01-01T10:00:00Z"}, format="json")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "validation_error", refused.json()
        assert "agent_id" in json.dumps(refused.json())

    # A CRM may close one nobody took.
    assert tenant.api.post(f"/api/v1/callbacks/{made.json()['id']}/done").json()["status"] == "done"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real race needs PostgreSQL (set DATABASE_URL)")
def test_two_agents_taking_it_at_once_leave_it_with_exactly_one(agent, tenant):
    colleagues = [agent, *(_colleague(tenant, f"agent{n}", f"+91980000002{n}") for n in range(5))]
    callback = desk.callback_schedule(organization_id=tenant.organization.pk, agent=None, number="+918000000111",
                                      due_at=timezone.now() + timedelta(days=1))
    barrier = threading.Barrier(len(colleagues))
    outcomes = []

    def take(who):
        barrier.wait()
        try:
            outcomes.append(desk.callback_take(agent=who, callback_id=callback.pk).agent_id)
        except ServiceError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(who,)) for who in colleagues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    holder = Callback.objects.get(pk=callback.pk).agent_id
    assert holder in {who.pk for who in colleagues}
    assert sorted(map(str, outcomes)) == sorted([str(holder)] + ["callback_taken"] * (len(colleagues) - 1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_every_console_of_the_organization_hears_of_it_is_reminded_and_sees_it_taken(agent, tenant, other_agent):
    colleague = await database_sync_to_async(_colleague)(tenant)
    consoles = {}
    for who in (agent, colleague, other_agent):
        consoles[who.pk] = await socket("/ws/console/", who.user)
        assert (await consoles[who.pk].connect())[0]

    async def next_callback(who):
        while True:
            message = await consoles[who.pk].receive_json_from(timeout=5)
            if message["type"].startswith("agent.callback"):
                return message["type"], message["callback"]

    try:
        callback = await database_sync_to_async(desk.callback_schedule)(
            organization_id=tenant.organization.pk, agent=None, number="+918000000111",
            due_at=timezone.now() + timedelta(days=1))
        for who in (agent, colleague):
            kind, listed = await next_callback(who)
            assert (kind, listed["id"], listed["agent_id"]) == ("agent.callback_changed", callback.pk, None)

        await database_sync_to_async(Callback.objects.filter(pk=callback.pk).update)(
            due_at=timezone.now() - timedelta(seconds=1))
        assert await database_sync_to_async(desk.callback_reminder_send)(callback_id=callback.pk)
        for who in (agent, colleague):
            kind, reminded = await next_callback(who)
            assert (kind, reminded["id"]) == ("agent.callback", callback.pk)

        await database_sync_to_async(desk.callback_take)(agent=colleague, callback_id=callback.pk)
        for who in (agent, colleague):
            kind, taken = await next_callback(who)
            assert (kind, taken["id"], taken["agent_id"]) == ("agent.callback_changed", callback.pk, colleague.pk)

        # Nothing of it reached the other organization's console.
        heard = []
        while not await consoles[other_agent.pk].receive_nothing(timeout=0.5):
            heard.append((await consoles[other_agent.pk].receive_json_from())["type"])
        assert not [kind for kind in heard if kind.startswith("agent.callback")], heard
    finally:
        for console in consoles.values():
            await console.disconnect()



@pytest.mark.django_db
def test_a_crm_reassigns_a_missed_callback_and_lists_those_left_for_anyone(tenant, agent, other_agent):
    mine = desk.callback_schedule(organization_id=tenant.organization.pk, agent=agent, number="+918000000111",
                                  due_at=timezone.now() + timedelta(days=1))
    Callback.objects.filter(pk=mine.pk).update(status="missed", due_at=timezone.now() - timedelta(hours=1))
    url = f"/api/v1/callbacks/{mine.pk}/reassign"

    left = tenant.api.post(url, {"anyone": True}, format="json")
    assert left.status_code == 200, left.json()
    assert (left.json()["agent_id"], left.json()["status"]) == (None, "pending")
    assert left.json()["due_at"] > timezone.now().isoformat()[:19]  # a minute from now, not the missed time
    open_ones = tenant.api.get("/api/v1/callbacks?anyone=true").json()["results"]
    assert [c["id"] for c in open_ones] == [mine.pk]
    assert tenant.api.get("/api/v1/callbacks?anyone=false").json()["results"] == []

    back = tenant.api.post(url, {"agent_id": agent.pk, "due_at": "2099-01-01T09:00:00"}, format="json")
    assert (back.json()["agent_id"], back.json()["due_local"]) == (agent.pk, "2099-01-01 09:00")
    outsider = tenant.api.post(url, {"agent_id": other_agent.pk}, format="json")
    assert (outsider.status_code, outsider.json()["error"]["code"]) == (404, "agent_not_found")
    past = tenant.api.post(url, {"anyone": True, "due_at": "2001-01-01T09:00:00Z"}, format="json")
    assert (past.status_code, past.json()["error"]["code"]) == (400, "callback_in_past")
    assert tenant.api.post("/api/v1/callbacks/999999/reassign", {"anyone": True}, format="json").status_code == 404


@pytest.mark.django_db
def test_a_reminder_is_sent_once_per_due_time(agent, tenant):
    callback = desk.callback_schedule(organization_id=tenant.organization.pk, agent=agent, number="+918000000111",
                                      due_at=timezone.now() + timedelta(days=1))
    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    assert desk.callback_reminder_send(callback_id=callback.pk) is True
    assert desk.callback_reminder_send(callback_id=callback.pk) is False  # the same task again, or a stale one
