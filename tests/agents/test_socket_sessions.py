"""A session's end ends its sockets; Origin is compared by scheme, host and port; bad frames get an error."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from callcenter.asgi import application
from tenants.models import Membership
from tests.agents.conftest import PASSWORD, login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = b"http://127.0.0.1:8000"  # PUBLIC_BASE_URL's origin


async def _session_of(user):
    return (await database_sync_to_async(login)(user)).cookies["sessionid"].value


def _socket(path, session, origin=ORIGIN):
    headers = [(b"origin", origin), (b"cookie", f"sessionid={session}".encode())]
    return WebsocketCommunicator(application, path, headers=headers)


async def _open(path, session):
    communicator = _socket(path, session)
    connected, _ = await communicator.connect()
    assert connected
    # Answered only once the consumer has finished opening (presence, agent state).
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    return communicator


async def _closed_within_5s(communicator):
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message.get("code")


def _logout(session):
    client = Client()
    client.cookies["sessionid"] = session
    assert client.post("/accounts/logout/").status_code == 302


async def test_logout_closes_the_console_and_a_reconnect_is_refused(agent):
    session = await _session_of(agent.user)
    communicator = await _open("/ws/console/", session)

    await database_sync_to_async(_logout)(session)

    assert await _closed_within_5s(communicator) == 4401
    again = _socket("/ws/console/", session)
    assert await again.connect() == (False, 4401)


async def test_a_password_change_closes_the_sockets_of_older_sessions(agent):
    session = await _session_of(agent.user)
    communicator = await _open("/ws/console/", session)

    def change():
        agent.user.set_password(PASSWORD + "-new")
        agent.user.save()

    await database_sync_to_async(change)()

    assert await _closed_within_5s(communicator) == 4401
    assert (await _socket("/ws/console/", session).connect())[0] is False


@pytest.mark.parametrize("how", ["agent inactive", "user inactive", "agent row deleted", "membership deleted"])
async def test_deactivation_or_removal_closes_the_socket_and_refuses_reconnecting(agent, how):
    session = await _session_of(agent.user)
    communicator = await _open("/ws/console/", session)

    def act():
        if how == "agent inactive":
            agent.is_active = False
            agent.save()
        elif how == "user inactive":
            agent.user.is_active = False
            agent.user.save()
        elif how == "agent row deleted":  # removed from the organization, as admin's delete does
            agent.delete()
        else:
            Membership.objects.filter(user=agent.user).delete()

    await database_sync_to_async(act)()

    assert await _closed_within_5s(communicator) == 4401
    assert (await _socket("/ws/console/", session).connect())[0] is False


async def test_the_wallboard_closes_when_its_supervisor_logs_out(supervisor):
    session = await _session_of(supervisor)
    communicator = await _open("/ws/wallboard/", session)

    await database_sync_to_async(_logout)(session)

    assert await _closed_within_5s(communicator) == 4401


async def test_a_ping_rechecks_the_session(agent):
    session = await _session_of(agent.user)
    communicator = await _open("/ws/console/", session)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}

    # The session disappears without any signal (e.g. cleared from the store).
    from django.contrib.sessions.models import Session

    await database_sync_to_async(Session.objects.filter(session_key=session).delete)()
    await communicator.send_json_to({"type": "ping"})

    assert await _closed_within_5s(communicator) == 4401


@pytest.mark.parametrize("origin", [b"https://127.0.0.1:8000", b"http://127.0.0.1:9999", b"http://127.0.0.1",
                                    b"http://evil.example.com:8000", b"null"])
async def test_an_origin_differing_in_scheme_host_or_port_is_refused(agent, origin):
    session = await _session_of(agent.user)

    connected, _ = await _socket("/ws/console/", session, origin=origin).connect()

    assert connected is False


async def test_the_sockets_own_host_is_an_allowed_origin(agent):
    session = await _session_of(agent.user)
    headers = [(b"origin", b"http://localhost:8123"), (b"host", b"localhost:8123"),
               (b"cookie", f"sessionid={session}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/console/", headers=headers)

    assert (await communicator.connect())[0] is True
    await communicator.disconnect()


@pytest.mark.parametrize("frame", ["not json", "[1, 2]", '{"no": "type"}', "[" * 5000, '{"type": "dance"}'])
async def test_a_malformed_frame_gets_an_error_and_the_socket_stays_up(agent, frame):
    communicator = await _open("/ws/console/", await _session_of(agent.user))

    await communicator.send_to(text_data=frame)
    error = await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "ping"})

    assert error["type"] == "error" and error["message"]
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()
