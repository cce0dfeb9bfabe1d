"""Pushes from another process reach a socket through Redis (calls/realtime.py), as web and worker do at scale."""

import asyncio
import os
import secrets
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from agents import services
from tests.agents.conftest import REDIS_URL
from tests.agents.test_consumers import socket, updates_until_final

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

BASE_DIR = Path(__file__).resolve().parents[2]

# A process of its own that only knows the agent's id: what a worker does after a change.
PUSHER = """
import sys, django
django.setup()
from calls import realtime
from tests.conftest import needs
sent = realtime.agent_notification(int(sys.argv[1]), {"notificationID": 0, "token": sys.argv[2]})
sys.exit(0 if sent else 1)
"""


# The same, for a call update: handed to the push loop without waiting, then the process exits.
HANDED_OVER = """
import sys, django
django.setup()
from calls import realtime
for n in range(20):
    realtime.send(realtime.agent_group(int(sys.argv[1])), {"type": "agent.notification",
                  "notification": {"notificationID": n, "token": sys.argv[2]}}, wait=False)
"""


def child_env(**extra):
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "callcenter.settings", "REDIS_URL": REDIS_URL, **extra}


async def test_it_delivers_a_push_sent_by_another_process(redis_layer, agent):
    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]
    token = secrets.token_hex(8)

    pusher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUSHER, str(agent.pk), token, cwd=BASE_DIR, env=child_env()
    )
    assert await pusher.wait() == 0

    message = await console.receive_json_from(timeout=10)
    assert message == {"type": "agent.notification", "notification": {"notificationID": 0, "token": token}}
    await console.disconnect()


async def test_it_streams_a_call_run_by_a_separate_worker_process(redis_layer, agent):
    if connection.vendor != "postgresql":
        pytest.skip(
            "SKIPPED: a separate worker process needs a database it can open too (PostgreSQL); "
            "the SQLite test database lives in this process's memory. CI runs it on PostgreSQL"
        )
    database = connection.settings_dict
    credentials = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else "")
    database_url = f"postgres://{credentials}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "manage.py", "worker", "--threads", "1", cwd=BASE_DIR,
        env=child_env(DATABASE_URL=database_url, SANDBOX_RING_SECONDS="0", SANDBOX_TALK_SECONDS="0.2"),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        # Django takes seconds to start on a busy machine; the call is made once the worker
        # is up, so each update's wait measures the push, not the start.
        async with asyncio.timeout(60):
            while b"Worker running" not in await worker.stdout.readline():
                assert not worker.stdout.at_eof(), "the worker exited before it ran"
        console = await socket("/ws/console/", agent.user)
        assert (await console.connect(timeout=10))[0]

        call = await database_sync_to_async(services.agent_click_to_call)(
            agent=agent, customer_number="+918000000101"
        )

        updates = await updates_until_final(console)
        statuses = ("queued", "ringing", "answered", "in_progress", "completed")
        assert updates == [(call.request_uuid, s) for s in statuses]
        await console.disconnect()
    finally:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()


async def test_pushes_handed_over_without_waiting_leave_in_order_before_the_process_exits(redis_layer, agent):
    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]
    token = secrets.token_hex(8)

    pusher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HANDED_OVER, str(agent.pk), token, cwd=BASE_DIR, env=child_env()
    )
    assert await pusher.wait() == 0

    received = [(await console.receive_json_from(timeout=10))["notification"] for _ in range(20)]
    assert received == [{"notificationID": n, "token": token} for n in range(20)]
    await console.disconnect()


async def test_no_thread_waits_for_a_fan_out(redis_layer, tenant, monkeypatch):
    """A call update returns while Redis is still stuck taking it."""
    from calls import realtime
    from tests.conftest import queued_call

    call = await database_sync_to_async(queued_call)(tenant)
    release, sent = threading.Event(), []
    real_publish = realtime.publish

    async def stuck_publish(group, message, host):
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        sent.append(group)
        await real_publish(group, message, host)

    monkeypatch.setattr(realtime, "publish", stuck_publish)
    try:
        realtime.call_changed(call)  # would block here for as long as Redis is stuck if it waited
        assert sent == [] and not realtime.flush(timeout=0.1)
        release.set()
        assert realtime.flush(timeout=10)
        assert sent == [realtime.org_group(tenant.organization.pk)]
    finally:
        release.set()
