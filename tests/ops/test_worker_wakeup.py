"""An idle worker takes a new task as soon as it is committed, not at its next poll: a
notification wakes it on PostgreSQL, the enqueue itself in the same process elsewhere.
The poll stays the safety net for whatever no notification announces."""

import json
import threading

import psycopg
import pytest
import requests
from django.db import connection

from calls.wakeup import APPLICATION_NAME, Wakeup
from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# A poll interval far longer than any wait below: only a wake-up explains a task run in time.
IDLE_INTERVAL = "30"
BUSY = "+918000000005"  # sandbox: placed, dialled, busy; then the hangup webhook
ANSWERS = "+918000000001"  # sandbox: answered, and hung up by the callee SANDBOX_TALK_SECONDS later


def test_a_wait_already_rung_returns_at_once():
    wakeup = Wakeup()
    seen = wakeup.count()
    wakeup.ring()  # a task committed while the worker polled
    # Missed, the wait would last the whole hour and then say it was not rung.
    assert wakeup.wait(seen, timeout=3600) is True


def test_a_ring_wakes_every_waiting_thread():
    wakeup = Wakeup()
    seen = wakeup.count()
    woken = []
    threads = [threading.Thread(target=lambda: woken.append(wakeup.wait(seen, timeout=3600))) for _ in range(2)]
    for thread in threads:
        thread.start()
    wakeup.ring()
    for thread in threads:
        thread.join(timeout=60)
    assert woken == [True, True]


def _call(app, demo, webhook_server, to):
    response = requests.post(
        f"{app.base_url}/superfone/sfvopi/calls", headers={"X-API-Key": demo["api_key"]}, timeout=10,
        json={"from": demo["from_number"], "to": to, "answer_url": webhook_server.url("/answer"),
              "hangup_url": webhook_server.url("/hangup")},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["data"]["request_uuid"]


def _hangup_arrives(webhook_server, request_uuid, timeout, message):
    def arrived():
        return any(r.path == "/hangup" and r.body.get("request_uuid") == request_uuid for r in webhook_server.received)

    wait_until(arrived, timeout, message)


def test_an_idle_worker_in_the_web_process_runs_a_new_call_at_once(app, webhook_server):
    app.env["TASK_WORKER_INTERVAL"] = IDLE_INTERVAL
    demo = json.loads(app.manage("demo", "--json"))
    app.start("web", "serve", "--port", str(app.port))  # the embedded default: worker threads beside the server
    wait_until(app._answers, 30, "the server did not start")
    first = _call(app, demo, webhook_server, BUSY)
    _hangup_arrives(webhook_server, first, 60, "the first call never finished")

    # The worker has run everything there was and now waits out its 30 s poll.
    second = _call(app, demo, webhook_server, BUSY)  # three tasks in a row: place, dial, hangup webhook
    _hangup_arrives(webhook_server, second, 10, "the idle worker was not woken by the new call's tasks")


def _listeners(database_url):
    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        return [pid for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s", [name, APPLICATION_NAME]
        )]  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="notifications cross processes on PostgreSQL only")
def test_a_worker_process_is_woken_by_the_web_process_and_listens_again_after_its_connection_is_cut(
    app, webhook_server
):
    app.env["TASK_WORKER_INTERVAL"] = IDLE_INTERVAL
    database_url = app.env["DATABASE_URL"]
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker", "worker")
    wait_until(lambda: len(_listeners(database_url)) == 1, 60, "the worker never listened for tasks")
    first = _call(app, demo, webhook_server, BUSY)
    _hangup_arrives(webhook_server, first, 60, "the first call never finished")

    second = _call(app, demo, webhook_server, BUSY)
    _hangup_arrives(webhook_server, second, 10, "the worker process was not woken by the web process's tasks")

    # The listening connection dies (a database failover, an idle-connection killer).
    (cut,) = _listeners(database_url)
    server = database_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [cut])
    wait_until(lambda: [pid for pid in _listeners(database_url) if pid != cut], 60,
               "the worker did not listen again after losing its connection")  # fmt: skip
    third = _call(app, demo, webhook_server, BUSY)
    _hangup_arrives(webhook_server, third, 10, "the worker was not woken after listening again")


def test_with_no_notification_at_all_the_poll_still_runs_every_task(app, webhook_server):
    """Web and worker in separate processes (on SQLite nothing crosses them); on PostgreSQL
    the notifying trigger is dropped. The call still goes all the way: the poll finds each task."""
    database_url = app.env["DATABASE_URL"]
    if connection.vendor == "postgresql":
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER task_ready_notify_insert ON django_tasks_database_dbtaskresult")
            conn.execute("DROP TRIGGER task_ready_notify_update ON django_tasks_database_dbtaskresult")
    app.env["TASK_WORKER_INTERVAL"] = "0.2"
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker", "worker")
    answered = _call(app, demo, webhook_server, ANSWERS)  # place, dial, answer webhook, callee hangup, webhooks
    _hangup_arrives(webhook_server, answered, 60, "the call did not finish on the poll alone")
