"""SIGTERM: a worker finishes or hands back what it runs; the web server closes sockets
with 1012 (service restart) so pages reconnect elsewhere."""

import json
import signal
import time

import pytest
import requests
from django_tasks_db.models import DBTaskResult
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from calls import jobs, placement
from tests.faults.conftest import wait_until
from tests.ops.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stopping_worker_hands_back_only_its_own_running_tasks():
    mine = placement.place_call.enqueue(1)
    theirs = placement.place_call.enqueue(2)
    DBTaskResult.objects.get(pk=mine.id).claim("stopping-worker")
    DBTaskResult.objects.get(pk=theirs.id).claim("other-worker")

    assert jobs.tasks_release(["stopping-worker"]) == 1

    assert DBTaskResult.objects.get(pk=mine.id).status == "READY"
    assert DBTaskResult.objects.ready().filter(pk=mine.id).exists()  # due now, not after a lease
    assert DBTaskResult.objects.get(pk=theirs.id).status == "RUNNING"


def test_a_worker_sigtermed_under_load_loses_nothing_and_leaves_nothing_running(app, webhook_server):
    calls = 16
    app.env.update({"SANDBOX_TALK_SECONDS": "0.5", "WORKER_SHUTDOWN_GRACE": "20"})
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker-1", "worker")
    # Slow customer: the worker is mid-request when it is told to stop.
    webhook_server.responses["/hangup"] = (200, {"ok": True}, 1.0)
    uuids = []
    for _ in range(calls):
        response = requests.post(
            f"{app.base_url}/superfone/sfvopi/calls", headers={"X-API-Key": demo["api_key"]}, timeout=10,
            json={"from": demo["from_number"], "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
                  "hangup_url": webhook_server.url("/hangup")},
        )
        assert response.status_code == 200, response.text
        uuids.append(response.json()["data"]["request_uuid"])

    def hangups():
        return [r for r in webhook_server.received if r.path == "/hangup"]

    wait_until(lambda: len(hangups()) >= 2, 60, "no hangup webhook arrived")
    stopping = app.processes["worker-1"]
    stopping.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert stopping.wait(timeout=30) == 0
    took = time.monotonic() - started
    app.processes.pop("worker-1")
    assert took < 25, f"the worker took {took:.1f}s to stop"
    # It finished what it held (or handed it back): nothing is left RUNNING under a dead worker.
    left = app.query("import json; from django_tasks_db.models import DBTaskResult as T; "
                     "print(json.dumps(T.objects.filter(status='RUNNING').count()))")
    assert left == 0

    app.start("worker-2", "worker")

    def all_done():
        statuses = app.query(
            "import json; from calls.models import Call; "
            "print(json.dumps(sorted(set(Call.objects.values_list('status', flat=True)))))"
        )
        return statuses == ["completed"] and len(hangups()) >= calls

    wait_until(all_done, 120, "not every call completed with its hangup webhook")
    time.sleep(1)
    sent = sorted(r.body["request_uuid"] for r in hangups())
    assert sent == sorted(uuids), "a hangup webhook was lost or sent twice"


def test_the_web_server_closes_sockets_with_1012_on_sigterm(app):
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    session = login(app.base_url, demo["agent_username"], demo["agent_password"])
    ws_url = app.base_url.replace("http://", "ws://") + "/ws/console/"
    with connect(ws_url, additional_headers={"Origin": app.base_url,
                                            "Cookie": f"sessionid={session.cookies['sessionid']}"}) as socket:
        socket.send(json.dumps({"type": "ping"}))
        socket.recv(timeout=10)
        web = app.processes["web"]
        web.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket.recv(timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert web.wait(timeout=30) == 0
    app.processes.pop("web")


def test_a_task_outlasting_the_grace_is_handed_back_and_finished_by_another_worker(app, webhook_server):
    app.env.update({"WORKER_SHUTDOWN_GRACE": "0.5"})
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker-1", "worker")
    # The first hangup attempt hangs far beyond the grace; later ones answer at once.
    webhook_server.responses["/hangup"] = (200, {"ok": True}, 4)
    response = requests.post(
        f"{app.base_url}/superfone/sfvopi/calls", headers={"X-API-Key": demo["api_key"]}, timeout=10,
        json={"from": demo["from_number"], "to": "+918000000005", "answer_url": webhook_server.url("/answer"),
              "hangup_url": webhook_server.url("/hangup")},
    )
    request_uuid = response.json()["data"]["request_uuid"]
    wait_until(lambda: len(webhook_server.received) == 1, 30, "the hangup attempt never started")
    webhook_server.responses["/hangup"] = (200, {"ok": True}, 0)

    stopping = app.processes.pop("worker-1")
    stopping.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert stopping.wait(timeout=20) == 0
    assert time.monotonic() - started < 3, "the worker waited for its task past the grace"
    states = app.query(
        "import json; from django_tasks_db.models import DBTaskResult as T; "
        "print(json.dumps(sorted(T.objects.filter(task_path='calls.delivery.deliver_webhook')"
        ".values_list('status', flat=True))))"
    )
    assert states == ["READY"], states  # handed back, due now: not RUNNING under a dead worker

    app.start("worker-2", "worker")
    # The new worker takes the task at once; the send itself waits out the row's own lease
    # (the cut-off attempt may have reached the customer), then goes with the same webhook-id.
    wait_until(lambda: len(webhook_server.received) == 2, 40, "the hangup webhook was not sent again")
    first, second = webhook_server.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.body["request_uuid"] == request_uuid
