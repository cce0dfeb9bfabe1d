"""The console and wallboard sockets: who may connect, and what reaches them (in-memory layer)."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from agents import services
from agents.models import ConsoleConnection
from callcenter.asgi import application
from tests.agents.conftest import AGENT_NUMBER, login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

URL = "/superfone/api/customer/click-2-call"


async def socket(path, user=None):
    headers = [(b"origin", b"http://127.0.0.1:8000")]  # PUBLIC_BASE_URL's origin
    if user is not None:
        session = (await database_sync_to_async(login)(user)).cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def next_of(communicator, kind, states=None):
    """The next message of `kind`; agent.state messages met on the way are added to `states`,
    and the first update of a newly created call is passed over."""
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message
        if message["type"] == "call.update" and message["call"]["status"] == "queued":
            continue
        assert message["type"] == "agent.state", message
        if states is not None:
            states.append(message["state"]["state"])


async def updates_until_final(communicator, states=None):
    """(request_uuid, status) of each call.update until a call ends."""
    seen = []
    while not seen or seen[-1][1] in ("queued", "ringing", "answered", "in_progress"):
        message = await next_of(communicator, "call.update", states)
        seen.append((message["call"]["request_uuid"], message["call"]["status"]))
    return seen


async def test_it_refuses_a_socket_without_a_login(agent):
    communicator = await socket("/ws/console/")

    connected, code = await communicator.connect()

    assert (connected, code) == (False, 4401)


async def test_it_refuses_the_console_to_a_login_without_an_agent(tenant, supervisor):
    communicator = await socket("/ws/console/", supervisor)

    connected, code = await communicator.connect()

    assert (connected, code) == (False, 4403)


async def test_it_refuses_the_wallboard_to_agents_who_are_not_staff(agent):
    communicator = await socket("/ws/wallboard/", agent.user)

    connected, code = await communicator.connect()

    assert (connected, code) == (False, 4403)


async def test_it_refuses_the_wallboard_to_staff_outside_any_organization(db):
    user = await database_sync_to_async(get_user_model().objects.create_user)("root", password="x", is_staff=True)
    communicator = await socket("/ws/wallboard/", user)

    connected, code = await communicator.connect()

    assert (connected, code) == (False, 4403)


async def test_it_streams_the_agents_call_to_the_console_as_it_happens(agent, run_tasks):
    communicator = await socket("/ws/console/", agent.user)
    connected, _ = await communicator.connect()
    assert connected

    call = await database_sync_to_async(services.agent_click_to_call)(agent=agent, customer_number="+918000000101")
    await database_sync_to_async(run_tasks)(wait=3)

    states = []
    updates = await updates_until_final(communicator, states)
    # The call shows up as soon as it exists, then at every step.
    statuses = ("queued", "ringing", "answered", "in_progress", "completed")
    assert updates == [(call.request_uuid, status) for status in statuses]
    # The agent's state is pushed too: on call with the call, available once it ends.
    message = await communicator.receive_json_from(timeout=5)
    states.append(message["state"]["state"])
    assert states == ["on_call", "available"]
    await communicator.disconnect()


async def test_it_keeps_other_agents_calls_off_the_console(agent, tenant, run_tasks):
    colleague = await database_sync_to_async(services.agent_create)(
        organization=tenant.organization, username="chen", password="x", number="+919800000003"
    )
    communicator = await socket("/ws/console/", agent.user)
    assert (await communicator.connect())[0]

    await database_sync_to_async(services.agent_click_to_call)(agent=colleague, customer_number="+918000000105")
    await database_sync_to_async(run_tasks)(wait=2)

    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_it_shows_every_call_of_the_organization_on_the_wallboard_and_no_other(
    agent, supervisor, other_agent, run_tasks
):
    wallboard = await socket("/ws/wallboard/", supervisor)
    assert (await wallboard.connect())[0]

    await database_sync_to_async(services.agent_click_to_call)(agent=other_agent, customer_number="+918000000105")
    await database_sync_to_async(run_tasks)(wait=2)
    assert await wallboard.receive_nothing(timeout=0.3)

    await database_sync_to_async(services.agent_click_to_call)(agent=agent, customer_number="+918000000105")
    await database_sync_to_async(run_tasks)(wait=2)
    first = await next_of(wallboard, "call.update")
    # A new call shows on the wallboard as soon as it is created.
    assert (first["call"]["agent_id"], first["call"]["status"]) == (agent.pk, "queued")
    assert (await next_of(wallboard, "call.update"))["call"]["status"] == "ringing"
    assert (await next_of(wallboard, "call.update"))["call"]["status"] == "busy"
    await wallboard.disconnect()


async def test_it_delivers_click_to_call_notifications_and_says_so(tenant, agent):
    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]

    response = await database_sync_to_async(tenant.api.get)(
        URL, {"customer_number": "+918000000108", "user_number": AGENT_NUMBER}
    )

    body = response.json()
    assert body["data"]["sentSuccess"] is True
    message = await next_of(console, "agent.notification")
    assert message["notification"]["notificationID"] == body["data"]["notificationID"]
    assert (message["notification"]["action"], message["notification"]["customer_number"]) == (
        "START",
        "+918000000108",
    )
    await console.disconnect()


async def test_it_reports_sent_success_false_once_every_tab_has_closed(tenant, agent):
    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]
    assert await database_sync_to_async(ConsoleConnection.objects.filter(agent=agent).count)() == 1
    await console.disconnect()
    assert await database_sync_to_async(ConsoleConnection.objects.filter(agent=agent).count)() == 0

    response = await database_sync_to_async(tenant.api.get)(
        URL, {"customer_number": "+918000000108", "user_number": AGENT_NUMBER}
    )

    assert response.json()["data"]["sentSuccess"] is False


async def test_it_answers_heartbeats(agent):
    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]

    await console.send_json_to({"type": "ping"})

    assert await console.receive_json_from(timeout=5) == {"type": "pong"}
    await console.disconnect()
