"""Nothing lost at the production shape: web and worker as separate processes on PostgreSQL
and Redis, about 200 sandbox calls while the worker is SIGKILLed and restarted, every
database backend is terminated, and the customer's server answers 500s and then goes down.

Every call must end as its number promises (README, "The sandbox carrier"), every answered
call's answer URL must have been asked, every ring and hangup webhook must reach the
customer, nothing may be doubled and nothing left stuck. A second run does the same while
the worker is behind a backlog of a few thousand tasks.
"""

import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import redis
import requests
from django.db import connection

from calls.delivery import sign
from tests.conftest import STREAM_JSON
from tests.faults.conftest import FAULT_REPORTS, Receiver, required, terminate_backends, wait_until

pytestmark = [
    pytest.mark.production_shape,
    pytest.mark.django_db(transaction=True),
    # Production runs on PostgreSQL: one pass of the suite (the PostgreSQL one) is enough.
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs in the suite's PostgreSQL pass"),
]

CALLS = 210
CREATE_SECONDS = 35
# A slow or busy machine drains slowly, and that is no loss: the drain waits as long as
# something moves (calls, deliveries, due tasks, the backlog), up to this ceiling. What is
# stuck is found by nothing moving: for SETTLED_SECONDS once every call ended, or for
# CALL_TIME_LIMIT + SETTLED_SECONDS while calls still live.
DRAIN_CEILING_SECONDS = 900
# Once every call has ended and nothing moves for this long, waiting longer finds nothing new.
SETTLED_SECONDS = 20
# A task due (or running) for longer than this once the run has drained is stuck.
STUCK_TASK_SECONDS = 60
RING_TIMEOUT = 3  # for the numbers that never answer
# For the numbers that stay on the line: longer than an answer webhook's lease and budget
# (calls.delivery.ANSWER_BUDGET, 30 s), so an answer whose worker or database connection
# died mid-way is asked again while the call still lives, as it is in production.
CALL_TIME_LIMIT = 40
LIVE = ("queued", "ringing", "answered", "in_progress")

# Last digit -> (final status, hangup cause, rings?, answered?)
PROMISES = {
    "5": ("busy", "17", False, False),
    "6": ("no_answer", "19", True, False),
    "7": ("failed", "41", False, False),
    "8": ("completed", "31", True, True),
}
ANSWERS_AND_HANGS_UP = ("completed", "16", True, True)


def promise(number):
    return PROMISES.get(number[-1], ANSWERS_AND_HANGS_UP)


def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        required("TEST_REDIS_URL is not set; the production shape runs with Redis")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        required(f"Redis at {url} is unreachable ({exc})")
    return url


class Run:
    """One production-shape run: the app, the customer's servers, the calls and what happened."""

    def __init__(self, app, app_database, workdir):
        self.app = app
        self.database_url = app_database
        self.app.env.update({
            "REDIS_URL": redis_url(),
            "SANDBOX_RING_SECONDS": "0.5",
            "SANDBOX_TALK_SECONDS": "1",
            "SWEEP_INTERVAL": "5",  # the production default
            "LOG_LEVEL": "INFO",
        })
        answer = {"/answer": STREAM_JSON}
        self.customer = Receiver(answer)  # ring, answer and hangup: the one that fails
        self.standby = Receiver({"/fallback": STREAM_JSON})  # the app's fallback answer URL: always up
        self.demo = None
        self.keys = {}  # idempotency key -> number dialled
        self.responses = defaultdict(list)  # idempotency key -> request_uuids answered
        self.post_errors = Counter()
        self.resent = 0
        self.faults = []
        self.workers_started = 0
        self.lock = threading.Lock()
        # Tasks enqueued before this (the backlog) are not the run's own work.
        self.since = "1970-01-01T00:00:00+00:00"
        self.backlog_size = 0

    # --- setting up ---

    def setup(self):

        self.demo = json.loads(self.app.manage("demo", "--json"))
        self.secret = self.app.query(
            "import json; from calls import services; from calls.models import SfvopiApp; "
            f"app = SfvopiApp.objects.get(app_id='{self.demo['app_id']}'); "
            f"services.app_update(app=app, retry_webhooks=True, fallback_answer_url='{self.standby.url('/fallback')}'); "
            "print(json.dumps(app.webhook_secret))"
        )
        self.tasks_table = self.app.query(
            "import json; from django_tasks_db.models import DBTaskResult; print(json.dumps(DBTaskResult._meta.db_table))"
        )
        self.app.start_web()
        self.start_worker()

    def start_worker(self):
        self.workers_started += 1
        self.app.start("worker", "worker")

    def kill_worker(self):
        self.app.kill("worker")
        time.sleep(1)
        self.start_worker()

    def backlog(self, count):
        """Put `count` harmless timer tasks, all due now, in front of the worker: each finds a call
        that has no deadline and does nothing, as a timer of a call that ended early does."""
        self.place(0, "+918999999995")
        wait_until(lambda: self.snapshot()["live"] == 0, 60, "the call the backlog points at did not end")
        self.app.query(
            "import json; from datetime import timedelta; from django.db import transaction; "
            "from django.utils import timezone; from calls.models import Call; from calls.timers import expire_deadline; "
            "call = Call.objects.get(); now = timezone.now()\n"
            "with transaction.atomic():\n"
            f"    for i in range({count}): expire_deadline.using(run_after=now).enqueue(call.pk)\n"
            "print(json.dumps(None))"
        )
        with psycopg.connect(self.database_url) as db:
            self.since = db.execute("SELECT now()").fetchone()[0].isoformat()
        self.backlog_size = count

    # --- calls ---

    def place(self, index, number=None):
        digit = "0123456789"[index % 10]
        number = number or f"+918{index:08d}{digit}"
        key = str(uuid.uuid4())
        with self.lock:
            self.keys[key] = number
        self._post(key, number)
        if index % 10 == 3:  # a client that did not see the answer sends the same request again
            self._post(key, number)
            with self.lock:
                self.resent += 1

    def _post(self, key, number):
        body = {
            "from": self.demo["from_number"],
            "to": number,
            "answer_url": self.customer.url("/answer"),
            "ring_url": self.customer.url("/ring"),
            "hangup_url": self.customer.url("/hangup"),
        }
        if number.endswith("6"):
            body["ring_timeout"] = RING_TIMEOUT
        if number.endswith("8"):
            body["call_time_limit"] = CALL_TIME_LIMIT
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                response = requests.post(
                    f"{self.app.base_url}/superfone/sfvopi/calls",
                    headers={"X-API-Key": self.demo["api_key"], "Idempotency-Key": key},
                    json=body,
                    timeout=20,
                )
            except requests.RequestException as exc:
                self.post_errors[type(exc).__name__] += 1
            else:
                if response.status_code == 200:
                    with self.lock:
                        self.responses[key].append(response.json()["data"]["request_uuid"])
                    return
                self.post_errors[f"HTTP {response.status_code}"] += 1
                assert response.status_code >= 500 or response.status_code == 409, response.text
            time.sleep(0.5)  # a client retries with the same Idempotency-Key
        raise AssertionError(f"the call to {number} was never accepted ({dict(self.post_errors)})")

    def create_calls(self, *, faults):
        """CALLS calls over CREATE_SECONDS, with the faults at fixed moments meanwhile."""
        schedule = []
        if faults:
            schedule = [
                (6, "worker SIGKILLed and restarted", self.kill_worker),
                (12, "every database backend terminated", lambda: terminate_backends(self.database_url)),
                (16, "customer server answers every 3rd request with 500",
                 lambda: setattr(self.customer, "fail_every", 3)),
                (21, "customer server down (refusing connections)", self.customer.down),
                (26, "worker SIGKILLed and restarted", self.kill_worker),
                (31, "customer server back up", lambda: (setattr(self.customer, "fail_every", 0),
                                                         self.customer.start())),
            ]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = []
            for index in range(CALLS):
                while schedule and time.monotonic() - started >= schedule[0][0]:
                    at, what, action = schedule.pop(0)
                    result = action()
                    self.faults.append(f"t={time.monotonic() - started:5.1f}s {what}"
                                       + (f" ({result} backends)" if isinstance(result, int) else ""))
                self.check_processes()
                futures.append(pool.submit(self.place, index))
                time.sleep(max(0.0, started + (index + 1) * CREATE_SECONDS / CALLS - time.monotonic()))
            for _, what, action in schedule:  # whatever was due after the last call
                action()
                self.faults.append(f"t={time.monotonic() - started:5.1f}s {what}")
            for future in futures:
                future.result()
        return time.monotonic() - started

    def check_processes(self):
        for name, process in self.app.processes.items():
            assert process.poll() is None, f"the {name} process died by itself (see {self.app.workdir}/{name}.log)"

    # --- watching the drain ---

    def snapshot(self):
        with psycopg.connect(self.database_url, autocommit=True) as db:
            calls = dict(db.execute("SELECT status, count(*) FROM calls_call GROUP BY status").fetchall())
            deliveries = db.execute(
                "SELECT kind, state, count(*), coalesce(sum(attempts), 0) FROM calls_webhookdelivery GROUP BY kind, state"
            ).fetchall()
            due = db.execute(
                f"SELECT count(*) FROM {self.tasks_table} WHERE enqueued_at > %s AND (status = 'READY'"
                " AND (run_after <= now() OR run_after = '9999-01-01') OR status = 'RUNNING')",
                [self.since],
            ).fetchone()[0]
            backlog_left = db.execute(
                f"SELECT count(*) FROM {self.tasks_table} WHERE enqueued_at <= %s AND status = 'READY'", [self.since],
            ).fetchone()[0]
        return {
            "live": sum(count for status, count in calls.items() if status in LIVE),
            "calls": calls,
            "pending": sum(count for _, state, count, _ in deliveries if state == "pending"),
            "pending_ring_hangup": sum(
                count for kind, state, count, _ in deliveries if state == "pending" and kind in ("ring", "hangup")
            ),
            "deliveries": sorted(deliveries),
            "tasks_due": due,
            "backlog_left": backlog_left,
        }

    def drain(self):
        """Wait until nothing is left to do, as long as something moves; returns the seconds
        it took, or None when what is left stopped moving."""
        started = time.monotonic()
        last, last_change = None, started
        while time.monotonic() - started < DRAIN_CEILING_SECONDS:
            self.check_processes()
            now = self.snapshot()
            if now["live"] == 0 and now["pending"] == 0 and now["tasks_due"] == 0:
                return time.monotonic() - started
            # The worker getting through the backlog is progress too.
            moving = (now["calls"], now["deliveries"], now["tasks_due"], now["backlog_left"])
            still = time.monotonic() - last_change
            if moving != last:
                last, last_change = moving, time.monotonic()
            elif now["live"] == 0 and now["pending_ring_hangup"] == 0 and still > SETTLED_SECONDS:
                return None  # every call ended and nothing has moved since: what is left is stuck
            elif still > CALL_TIME_LIMIT + SETTLED_SECONDS:
                return None  # a live call outlasted its time limit with nothing moving: stuck
            time.sleep(2)
        return None

    # --- what happened ---

    def facts(self):
        return self.app.query(
            "import json\n"
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from django_tasks_db.models import DBTaskResult as T, get_date_max\n"
            "from calls.models import Call, WebhookDelivery as W\n"
            "calls = list(Call.objects.values('pk', 'request_uuid', 'to_number', 'status', 'hangup_cause', 'stream',"
            " 'answered_at'))\n"
            "for c in calls: c['answered_at'] = bool(c['answered_at'])\n"
            "deliveries = list(W.objects.values('call__request_uuid', 'kind', 'webhook_id', 'state', 'attempts',"
            " 'error'))\n"
            f"old = timezone.now() - timedelta(seconds={STUCK_TASK_SECONDS})\n"
            f"backlog = T.objects.filter(enqueued_at__lte='{self.since}')\n"
            "backlog_left = backlog.filter(status='READY').count()\n"
            f"tasks = T.objects.filter(enqueued_at__gt='{self.since}')\n"
            "stuck = [(t.task_path, t.status, str(t.args_kwargs)[:80]) for t in tasks.filter(status='READY',"
            " run_after__lte=old)[:20]]\n"
            "stuck += [(t.task_path, t.status, str(t.args_kwargs)[:80]) for t in tasks.filter(status='READY',"
            " run_after=get_date_max(), enqueued_at__lte=old)[:20]]\n"
            "stuck += [(t.task_path, t.status, str(t.args_kwargs)[:80]) for t in tasks.filter(status='RUNNING',"
            " started_at__lte=old)[:20]]\n"
            "stuck_count = tasks.filter(status='READY', run_after__lte=old).count() + tasks.filter(status='READY',"
            " run_after=get_date_max(), enqueued_at__lte=old).count() + tasks.filter(status='RUNNING',"
            " started_at__lte=old).count()\n"
            "by_path = {}\n"
            "for path, status, worker_ids in tasks.values_list('task_path', 'status', 'worker_ids'):\n"
            "    row = by_path.setdefault(path.rsplit('.', 1)[-1], {})\n"
            "    row[status] = row.get(status, 0) + 1\n"
            "    if len(worker_ids or []) > 1: row['recovered'] = row.get('recovered', 0) + 1\n"
            "failed = {}\n"
            "for cls in tasks.filter(status='FAILED').values_list('exception_class_path', flat=True):\n"
            "    failed[cls] = failed.get(cls, 0) + 1\n"
            "print(json.dumps({'calls': calls, 'deliveries': deliveries, 'stuck_tasks': stuck,"
            " 'stuck_task_count': stuck_count, 'tasks': by_path, 'failed_tasks': failed, 'backlog_left': backlog_left},"
            " default=str))"
        )

    def close(self):
        self.customer.close()
        self.standby.close()


def check(run, title, *, created_in, drained_in):
    """Compare what happened with what every number promises; report the figures, then assert."""
    facts = run.facts()
    calls = {c["request_uuid"]: c for c in facts["calls"]}
    deliveries = {(d["call__request_uuid"], d["kind"]): d for d in facts["deliveries"]}
    received = defaultdict(list)  # (request_uuid, path) -> requests
    for request in run.customer.received + run.standby.received:
        received[(request["body"].get("request_uuid"), request["path"])].append(request)
    problems = defaultdict(list)

    # Idempotency: one call per key, the same request_uuid for every answer to that key.
    for key, uuids in run.responses.items():
        if len(set(uuids)) != 1:
            problems["an Idempotency-Key answered with different calls"].append(f"{key}: {uuids}")
    if len(calls) != len(run.keys):
        problems["calls stored != idempotency keys sent"].append(f"{len(calls)} calls for {len(run.keys)} keys")

    for request_uuid, call in calls.items():
        status, cause, rings, answers = promise(call["to_number"])
        label = f"{request_uuid} to {call['to_number']}"
        if call["status"] in LIVE:
            problems["call still live (stuck)"].append(f"{label}: {call['status']}")
        elif (call["status"], call["hangup_cause"]) != (status, cause):
            problems["call did not end as its number promises"].append(
                f"{label}: {call['status']}/{call['hangup_cause']}, promised {status}/{cause}"
            )
        expected = ["hangup"] + (["ring"] if rings else [])
        for kind in expected:
            row = deliveries.get((request_uuid, kind))
            got = received.get((request_uuid, f"/{kind}"), [])
            if row is None:
                problems[f"{kind} webhook never written"].append(label)
                continue
            if not any(r["headers"].get("webhook-id") == row["webhook_id"] for r in got):
                problems[f"{kind} webhook never reached the customer"].append(
                    f"{label}: {row['state']}, {row['attempts']} attempts, {row['error'][:80]}"
                )
            if {r["headers"].get("webhook-id") for r in got} - {row["webhook_id"]}:
                problems[f"{kind} webhook sent twice under different webhook-ids"].append(label)
        if answers and call["answered_at"]:
            answer = deliveries.get((request_uuid, "answer"))
            fallback = deliveries.get((request_uuid, "fallback_answer"))
            asked = received.get((request_uuid, "/answer"), []) + received.get((request_uuid, "/fallback"), [])
            if answer is None:
                problems["answered call without an answer webhook"].append(label)
            elif answer["state"] == "pending" and answer["attempts"] == 0:
                problems["answer webhook never asked (pending, 0 attempts)"].append(
                    f"{label}: call {call['status']}"
                )
            elif answer["state"] == "pending":
                problems["answer webhook left pending"].append(f"{label}: {answer['attempts']} attempts")
            elif not asked and not (answer["error"] or (fallback and fallback["error"])):
                problems["answer webhook resolved without asking the customer"].append(label)
            if answer and answer["state"] == "failed" and (fallback is None or fallback["state"] != "delivered"):
                problems["answer and fallback both failed"].append(
                    f"{label}: {answer['error'][:60]} / {fallback and fallback['error'][:60]}"
                )
            if call["status"] not in LIVE and not call["stream"]:
                problems["answered call never went in_progress with Stream JSON"].append(label)
        elif not answers and deliveries.get((request_uuid, "answer")):
            problems["answer webhook for a call that was never answered"].append(label)

    # Every request carried a valid signature; the webhook-id names one call and kind.
    webhook_ids = {d["webhook_id"]: (d["call__request_uuid"], d["kind"]) for d in facts["deliveries"]}
    for request in run.customer.received + run.standby.received:
        headers = request["headers"]
        expected_signature = sign(run.secret, headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""),
                                  request["raw"])
        if expected_signature not in (headers.get("webhook-signature") or "").split():
            problems["webhook with an invalid signature"].append(f"{request['path']} {headers.get('webhook-id')}")
        if headers.get("webhook-id") not in webhook_ids:
            problems["webhook-id the outbox does not know"].append(f"{request['path']} {headers.get('webhook-id')}")
    if facts["stuck_task_count"]:
        problems[f"tasks due or running for more than {STUCK_TASK_SECONDS}s"].append(
            f"{facts['stuck_task_count']} tasks, e.g. {facts['stuck_tasks'][:5]}"
        )

    # The figures.
    by_kind = Counter(request["path"].strip("/") for request in run.customer.received + run.standby.received)
    answered_by_customer = Counter(
        (request["path"].strip("/"), request["status"]) for request in run.customer.received + run.standby.received
    )
    states = Counter((d["kind"], d["state"]) for d in facts["deliveries"])
    errors = Counter(
        (d["kind"], d["error"].split(":")[0][:40]) for d in facts["deliveries"] if d["error"]
    )
    retries = sum(max(d["attempts"] - 1, 0) for d in facts["deliveries"])
    recovered = sum(row.get("recovered", 0) for row in facts["tasks"].values())
    lines = [
        f"calls: {len(calls)} ({dict(Counter(c['status'] for c in calls.values()))}), "
        f"keys {len(run.keys)}, re-sent keys {run.resent}, client retries {dict(run.post_errors)}",
        f"faults: {run.faults or 'none'}; worker processes started: {run.workers_started}",
        f"requests received per kind: {dict(by_kind)}; answered with: {dict(answered_by_customer)}",
        f"deliveries (kind, state): {dict(sorted(states.items()))}; webhook retries (attempts beyond the first): "
        f"{retries}; last errors recorded: {dict(errors)}",
        f"tasks by name and status: {facts['tasks']}; recovered tasks (claimed by more than one worker): {recovered}; "
        f"failed tasks: {facts['failed_tasks']}",
        (f"backlog: {run.backlog_size} timer tasks ahead of the calls, {facts['backlog_left']} still queued at the end"
         if run.backlog_size else "backlog: none"),
        f"created in {created_in:.1f}s; " + (f"drained {drained_in:.1f}s after the last call" if drained_in is not None
                                             else f"NOT drained within {DRAIN_CEILING_SECONDS}s (or stuck for "
                                                  f"{SETTLED_SECONDS}s after every call ended, {CALL_TIME_LIMIT + SETTLED_SECONDS}s while calls lived)"),
    ]
    lines += [f"PROBLEM {what}: {len(items)}, e.g. {items[:3]}" for what, items in problems.items()]
    FAULT_REPORTS.append((title, lines))
    print("\n".join(lines))
    assert not problems, "\n".join(f"{what}: {len(items)}, e.g. {items[:3]}" for what, items in problems.items())


@pytest.fixture
def run(app, app_database, workdir):
    running = Run(app, app_database, workdir)
    try:
        running.setup()
        yield running
    finally:
        app.stop_all()
        running.close()


def test_nothing_is_lost_when_the_worker_dies_the_database_blips_and_the_customer_server_fails(run):
    created_in = run.create_calls(faults=True)
    drained_in = run.drain()
    check(run, "nothing lost: worker killed twice, database backends terminated, customer server flaky and down",
          created_in=created_in, drained_in=drained_in)


def test_no_answer_webhook_is_skipped_when_the_worker_runs_behind(run):
    run.backlog(3000)
    created_in = run.create_calls(faults=False)
    drained_in = run.drain()
    check(run, "nothing lost: worker behind a backlog of 3000 tasks", created_in=created_in, drained_in=drained_in)
