"""bin/cluster end to end: two web processes and two workers on PostgreSQL and Redis.

A call created through web 1 is placed once by one of the workers and its status reaches a
wallboard socket on web 2; a worker SIGKILLed in the middle of a batch loses nothing.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from websockets.sync.client import connect

from tests.conftest import needs
from tests.faults.conftest import ROOT, App, free_port, wait_until
from tests.ops.conftest import login

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Several processes share one database: the PostgreSQL pass only.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the suite's PostgreSQL pass"),
]


@pytest.fixture
def redis_server(workdir):
    needs(bool(shutil.which("redis-server")), "redis-server")
    from tests.faults.test_redis_down import ThrowawayRedis

    server = ThrowawayRedis(workdir)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def cluster(app_database, redis_server, workdir):
    app = App(app_database, workdir)  # for its environment and manage()
    ports = [free_port(), free_port()]
    run_dir = Path(workdir) / "cluster"
    app.env.update({"REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0", "SANDBOX_TALK_SECONDS": "0.5",
                    "PYTHON": sys.executable})
    process = subprocess.Popen(
        ["bin/cluster", "--web-ports", ",".join(map(str, ports)), "--workers", "2", "--run-dir", str(run_dir)],
        cwd=ROOT, env=app.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    bases = [f"http://127.0.0.1:{port}" for port in ports]

    def up():
        try:
            return all(requests.get(f"{base}/readyz", timeout=2).status_code == 200 for base in bases)
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, "the cluster did not become ready")
        yield app, bases, run_dir
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
        for name in ("web-1", "web-2", "worker-1", "worker-2"):
            pid_file = run_dir / f"{name}.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def create(base, demo, webhook_server, to="+918000000001"):
    response = requests.post(f"{base}/superfone/sfvopi/calls", headers={"X-API-Key": demo["api_key"]}, timeout=10,
                             json={"from": demo["from_number"], "to": to, "answer_url": webhook_server.url("/answer"),
                                   "hangup_url": webhook_server.url("/hangup")})
    assert response.status_code == 200, response.text
    return response.json()["data"]["request_uuid"]


def test_a_call_through_web_1_is_placed_once_and_shows_on_web_2(cluster, webhook_server):
    app, (web1, web2), _ = cluster
    demo = json.loads(app.manage("demo", "--json"))
    session = login(web2, demo["supervisor_username"], demo["supervisor_password"])
    ws_url = web2.replace("http://", "ws://") + "/ws/wallboard/"
    with connect(ws_url, additional_headers={"Origin": web2,
                                            "Cookie": f"sessionid={session.cookies['sessionid']}"}) as socket:
        request_uuid = create(web1, demo, webhook_server)
        seen = []
        deadline = time.monotonic() + 30
        while "completed" not in seen and time.monotonic() < deadline:
            message = json.loads(socket.recv(timeout=30))
            if message.get("type") == "call.update" and message["call"]["request_uuid"] == request_uuid:
                seen.append(message["call"]["status"])
    assert seen[-1] == "completed", seen
    assert "ringing" in seen or "in_progress" in seen
    placed = app.query(
        "import json; from django_tasks_db.models import DBTaskResult as T; from calls.models import Call, CallEvent; "
        f"c = Call.objects.get(request_uuid='{request_uuid}'); "
        "runs = T.objects.filter(task_path='calls.placement.place_call', args_kwargs__args__0=c.pk); "
        "print(json.dumps([runs.count(), [r.worker_ids for r in runs], "
        "CallEvent.objects.filter(call=c, status='ringing', applied=True).count()]))"
    )
    runs, worker_ids, ringing = placed
    assert runs == 1 and len(worker_ids[0]) == 1, placed  # one placement, one worker
    assert ringing == 1
    wait_until(lambda: len(webhook_server.received) >= 2, 10, "the webhooks did not arrive")
    assert [r.path for r in webhook_server.received].count("/hangup") == 1


def test_killing_one_worker_mid_run_loses_nothing(cluster, webhook_server):
    app, (web1, web2), run_dir = cluster
    demo = json.loads(app.manage("demo", "--json"))
    webhook_server.responses["/hangup"] = (200, {"ok": True}, 0.5)
    uuids = [create(web1 if n % 2 else web2, demo, webhook_server) for n in range(12)]
    wait_until(lambda: any(r.path == "/hangup" for r in webhook_server.received), 60, "no call finished")
    os.kill(int((run_dir / "worker-1.pid").read_text()), signal.SIGKILL)

    def hangup_uuids():
        return {r.body["request_uuid"] for r in webhook_server.received if r.path == "/hangup"}

    # The survivor recovers what the dead worker held (heartbeat silence: 10 s).
    wait_until(lambda: hangup_uuids() == set(uuids), 120, "a call's hangup webhook never arrived")
    statuses = app.query(
        "import json; from calls.models import Call; "
        "print(json.dumps(sorted(set(Call.objects.values_list('status', flat=True)))))"
    )
    assert statuses == ["completed"]
    # At least once: a webhook cut off mid-send may come twice, always with the same webhook-id.
    by_uuid = {}
    for r in webhook_server.received:
        if r.path == "/hangup":
            by_uuid.setdefault(r.body["request_uuid"], set()).add(r.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in by_uuid.values())
