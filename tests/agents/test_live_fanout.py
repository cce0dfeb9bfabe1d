"""The live fan-out through Redis as wallboards see it: every socket of every process gets each
push once and in order, one bad socket spoils nothing for the others, a new call shows at
once, and a Redis that is down costs a push, never a request."""

import asyncio
import json
import logging
import socket as sockets_module
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from callcenter.channel_layers import redis_channel_layers
from calls import realtime
from tests.agents.test_redis_push import child_env
from tests.agents.test_redis_sockets import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BASE_DIR = Path(__file__).resolve().parents[2]

# Another serving process: its hub with `count` listeners of one group, which prints "ready"
# once subscribed, then every listener's pushes once `expect` reached each (or 20 s passed).
OTHER_PROCESS = """
import asyncio, json, sys, time, django
django.setup()
from calls import realtime

class Listener:
    def __init__(self):
        self.frames = []
    def deliver(self, message):
        self.frames.append(json.loads(message["frame"])["call"]["n"])
    def lost(self):
        self.frames.append("lost")

async def main(group, count, expect):
    listeners = [Listener() for _ in range(count)]
    for listener in listeners:
        await realtime.join(listener, [group])
    print("ready", flush=True)
    deadline = time.monotonic() + 20
    while any(len(l.frames) < expect for l in listeners) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a push delivered twice would arrive in here
    print(json.dumps([l.frames for l in listeners]), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def push_numbered(group, count):
    """`count` framed call updates numbered 0.. to `group`, handed over as call updates are."""
    for n in range(count):
        realtime.send(group, realtime.framed({"type": "call.update", "call": {"n": n}}), wait=False)
    assert realtime.flush(timeout=10)


async def numbers(wallboard, count):
    return [(await wallboard.receive_json_from(timeout=10))["call"]["n"] for _ in range(count)]


async def test_fifty_sockets_across_two_processes_each_get_every_push_once_and_in_order(
    redis_layer, tenant, supervisor
):
    group = realtime.org_group(tenant.organization.pk)
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_PROCESS, group, "25", "10", cwd=BASE_DIR,
        env=child_env(), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert (await asyncio.wait_for(other.stdout.readline(), 30)).strip() == b"ready"
        wallboards = await sockets("/ws/wallboard/", supervisor, 25)

        await asyncio.to_thread(push_numbered, group, 10)

        for wallboard in wallboards:
            assert await numbers(wallboard, 10) == list(range(10))
        for wallboard in wallboards:
            assert await wallboard.receive_nothing(timeout=0.05)
        there = json.loads(await asyncio.wait_for(other.stdout.readline(), 30))
        assert there == [list(range(10))] * 25
        for wallboard in wallboards:
            await wallboard.disconnect()
    finally:
        if other.returncode is None:
            other.kill()
        await other.wait()


class Broken:
    """A listener whose delivery fails, as a socket torn down mid-write might."""

    def deliver(self, message):
        raise ConnectionResetError("gone")

    def lost(self):
        pass


async def test_a_socket_that_breaks_or_closes_mid_fan_out_keeps_no_other_from_its_pushes(
    redis_layer, tenant, supervisor
):
    group = realtime.org_group(tenant.organization.pk)
    wallboards = await sockets("/ws/wallboard/", supervisor, 10)
    await realtime.join(Broken(), [group])
    closing, *others = wallboards

    sending = asyncio.create_task(asyncio.to_thread(push_numbered, group, 5))
    await closing.disconnect()
    await sending

    for wallboard in others:
        assert await numbers(wallboard, 5) == list(range(5))
    for wallboard in others:
        await wallboard.disconnect()


async def test_a_new_call_shows_on_the_wallboard_as_soon_as_it_is_created(redis_layer, tenant, supervisor):
    (wallboard,) = await sockets("/ws/wallboard/", supervisor, 1)

    response = await database_sync_to_async(tenant.api.post)(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": "+918000000001", "answer_url": "https://customer.example.com/answer"},
        format="json",
    )
    assert response.status_code == 200
    message = await wallboard.receive_json_from(timeout=10)
    assert message["type"] == "call.update"
    assert (message["call"]["request_uuid"], message["call"]["status"]) == (
        response.json()["data"]["request_uuid"],
        "queued",
    )
    await wallboard.disconnect()


def closed_port():
    with sockets_module.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


async def test_with_redis_down_a_push_is_dropped_and_logged_and_the_request_goes_through(
    settings, tenant, caplog
):
    settings.CHANNEL_LAYERS = redis_channel_layers(f"redis://127.0.0.1:{closed_port()}/0")
    caplog.set_level(logging.WARNING, logger="calls.realtime")

    response = await database_sync_to_async(tenant.api.post)(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": "+918000000001", "answer_url": "https://customer.example.com/answer"},
        format="json",
    )

    assert response.status_code == 200 and response.json()["data"]["status"] == "queued"
    assert await asyncio.to_thread(realtime.flush, 15)
    group = realtime.org_group(tenant.organization.pk)
    assert f"live push to {group} failed" in caplog.text

