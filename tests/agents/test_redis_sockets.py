"""Sockets on the Redis channel layer last: idle ones stay up, and many closing at once leave nothing behind."""

import asyncio
import shutil

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from agents.models import ConsoleConnection
from callcenter.asgi import application
from callcenter.channel_layers import redis_channel_layers
from calls import realtime
from tests.agents.conftest import AGENT_NUMBER, REDIS_URL, login
from tests.conftest import needs
from tests.faults.test_redis_down import ThrowawayRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CLICK_TO_CALL = "/superfone/api/customer/click-2-call"


async def sockets(path, user, count):
    """`count` connected sockets at `path`, all logged in as `user` (one session, as tabs share it)."""
    session = (await database_sync_to_async(login)(user)).cookies["sessionid"].value
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"cookie", f"sessionid={session}".encode())]
    communicators = [WebsocketCommunicator(application, path, headers=headers) for _ in range(count)]
    results = await asyncio.gather(*(communicator.connect(timeout=30) for communicator in communicators))
    assert all(connected for connected, _ in results)
    return communicators


def subscriptions(client):
    """Subscribers of each live-push channel of this Redis database, as Redis counts them."""
    channels = client.pubsub_channels(realtime._channel_prefix(REDIS_URL) + "*")
    return {name.decode(): count for name, count in client.pubsub_numsub(*channels)} if channels else {}


async def test_idle_sockets_stay_up_through_several_redis_read_timeouts(redis_layer, agent, supervisor):
    consoles = await sockets("/ws/console/", agent.user, 15)
    wallboards = await sockets("/ws/wallboard/", supervisor, 5)

    # channels_redis's blocking read lasts 5 s: this idle spell spans three of them.
    await asyncio.sleep(17)

    sent = await database_sync_to_async(realtime.agent_notification)(agent.pk, {"notificationID": 7})
    assert sent
    await database_sync_to_async(realtime.send)(
        realtime.org_group(agent.organization_id), {"type": "call.update", "call": {"request_uuid": "idle"}}
    )
    for console in consoles:
        assert await console.receive_json_from(timeout=10) == {
            "type": "agent.notification",
            "notification": {"notificationID": 7},
        }
    for wallboard in wallboards:
        assert await wallboard.receive_json_from(timeout=10) == {
            "type": "call.update",
            "call": {"request_uuid": "idle"},
        }
    # Each console is still counted as listening, so click-to-call still reaches the agent.
    assert await database_sync_to_async(ConsoleConnection.objects.count)() == 15
    for communicator in consoles + wallboards:
        await communicator.disconnect()


async def test_hundreds_of_sockets_closing_at_once_leave_no_subscription_or_presence_behind(
    redis_layer, tenant, agent, supervisor, monkeypatch
):
    # An earlier test's sockets leave their groups UNSUBSCRIBE_AFTER_SECONDS after closing:
    # wait those out, so what Redis counts below is this test's alone.
    for _ in range(100):
        if not subscriptions(redis_layer):
            break
        await asyncio.sleep(0.1)
    monkeypatch.setattr(realtime, "UNSUBSCRIBE_AFTER_SECONDS", 0.2)
    consoles = await sockets("/ws/console/", agent.user, 250)
    wallboards = await sockets("/ws/wallboard/", supervisor, 50)
    assert await database_sync_to_async(ConsoleConnection.objects.count)() == 250
    # Each socket is in its page's group and in its login's group (closed when the session ends)...
    assert realtime.listeners(realtime.agent_group(agent.pk)) == 250
    assert realtime.listeners(realtime.user_group(agent.user.pk)) == 250
    assert realtime.listeners(realtime.org_group(tenant.organization.pk)) == 50
    assert realtime.listeners(realtime.user_group(supervisor.pk)) == 50
    # ...but Redis sees one subscriber per group: this process.
    prefix = realtime._channel_prefix(REDIS_URL)
    groups = [realtime.agent_group(agent.pk), realtime.user_group(agent.user.pk),
              realtime.org_agents_group(tenant.organization.pk),
              realtime.org_group(tenant.organization.pk), realtime.user_group(supervisor.pk)]  # fmt: skip
    assert subscriptions(redis_layer) == {prefix + group: 1 for group in groups}

    await asyncio.gather(*(communicator.disconnect(timeout=60) for communicator in consoles + wallboards))

    assert await database_sync_to_async(ConsoleConnection.objects.count)() == 0
    assert all(realtime.listeners(group) == 0 for group in groups)
    for _ in range(50):  # the unsubscriptions leave UNSUBSCRIBE_AFTER_SECONDS after the last socket
        if not subscriptions(redis_layer):
            break
        await asyncio.sleep(0.1)
    assert subscriptions(redis_layer) == {}
    response = await database_sync_to_async(tenant.api.get)(
        CLICK_TO_CALL, {"customer_number": "+918000000108", "user_number": AGENT_NUMBER}
    )
    assert response.json()["data"]["sentSuccess"] is False


async def test_a_console_whose_redis_goes_away_stops_counting_as_listening(settings, tmp_path, agent):
    needs(bool(shutil.which("redis-server")), "redis-server")
    redis_server = ThrowawayRedis(str(tmp_path))
    redis_server.start()
    try:
        settings.CHANNEL_LAYERS = redis_channel_layers(f"redis://127.0.0.1:{redis_server.port}/0")
        consoles = await sockets("/ws/console/", agent.user, 3)
        assert await database_sync_to_async(ConsoleConnection.objects.count)() == 3

        # The process's subscription fails: pushes may be missed from here, so its sockets are
        # closed (the pages reconnect and re-sync), and their presence goes with them.
        redis_server.kill()
        for console in consoles:
            assert await console.receive_output(timeout=30) == {"type": "websocket.close", "code": realtime.LIVE_LOST}

        assert await database_sync_to_async(ConsoleConnection.objects.count)() == 0
    finally:
        if redis_server.process.poll() is None:
            redis_server.kill()
