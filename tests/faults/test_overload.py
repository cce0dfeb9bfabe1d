"""Create-call past capacity: the web process has a deliberately small database pool and is
flooded by many concurrent clients. Every answer must be a success, a 429 or a 503 (the
last two with Retry-After, in SFVoPI's {"message"} envelope), never a 500 or a hang; every
success is exactly one stored call that the worker then places, and a refusal stores none.
"""

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection

from tests.faults.conftest import App, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The pool only exists on PostgreSQL (SQLite has no connection pool to run out of).
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the database pool under overload exists on PostgreSQL only"
    ),
]

CLIENTS = 64
FLOOD_SECONDS = 4.0
# A client that waits longer than this for an answer counts as a hang.
CLIENT_TIMEOUT = 15
# Ends in 5: the sandbox answers busy at once, so placing each call costs the worker little.
TO_NUMBER = "+918000000005"


def flood(app, demo):
    """CLIENTS closed-loop clients for FLOOD_SECONDS, each request with its own key."""
    stop_at = time.monotonic() + FLOOD_SECONDS
    answers = []  # (key, status or exception name, headers, body)
    lock = threading.Lock()

    def client():
        session = requests.Session()
        while time.monotonic() < stop_at:
            key = str(uuid.uuid4())
            try:
                response = session.post(
                    f"{app.base_url}/superfone/sfvopi/calls",
                    headers={"X-API-Key": demo["api_key"], "Idempotency-Key": key},
                    json={"from": demo["from_number"], "to": TO_NUMBER, "answer_url": "http://127.0.0.1:9/answer"},
                    timeout=CLIENT_TIMEOUT,
                )
            except requests.RequestException as exc:
                with lock:
                    answers.append((key, type(exc).__name__, {}, None))
                continue
            try:
                body = response.json()
            except ValueError:
                body = response.text
            with lock:
                answers.append((key, response.status_code, response.headers, body))

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for future in [pool.submit(client) for _ in range(CLIENTS)]:
            future.result()
    return answers


def test_create_call_past_capacity_answers_success_429_or_503_and_stores_one_call_per_success(
    app_database, workdir
):
    app = App(app_database, workdir)
    app.env.update({
        # A small pool per process, so 64 clients are far past what it can serve at once.
        "DATABASE_POOL_SIZE": "2",
        "DATABASE_POOL_TIMEOUT": "0.5",
        # A short line, so the flood goes past what the process serves within it.
        "REQUEST_QUEUE_TIMEOUT": "0.1",
        # The organization's rate limit is not what this test is about: raised well past the flood.
        "CALL_CREATE_RATE": "100000/s",
    })  # fmt: skip
    try:
        demo = json.loads(app.manage("demo", "--json"))
        app.start_web()
        # The worker places calls while the flood goes on, from a pool as small as the web's.
        app.start("worker", "worker")
        answers = flood(app, demo)

        statuses = Counter(status for _, status, _, _ in answers)
        unexpected = [(status, body) for _, status, _, body in answers if status not in (200, 429, 503)]
        assert not unexpected, f"answers other than 200/429/503: {statuses}; first: {unexpected[:3]}"
        assert statuses[200] > 0, f"nothing was accepted under the flood: {statuses}"
        assert statuses[503] > 0, f"the flood never went past capacity: {statuses}"
        for _, status, headers, body in answers:
            if status in (429, 503):
                assert int(headers.get("Retry-After", "0")) >= 1, (status, headers)
                assert isinstance(body, dict) and body.get("message"), (status, body)
                assert set(body) <= {"message", "errors"}, body
            else:
                assert body["message"] == "success" and body["data"]["status"] == "queued", body

        accepted = {body["data"]["request_uuid"] for _, status, _, body in answers if status == 200}
        assert len(accepted) == statuses[200], "two successes named the same call"

        def stored():
            with psycopg.connect(app_database, autocommit=True) as db:
                return db.execute(
                    "SELECT request_uuid, status, carrier_call_id, carrier_attempts FROM calls_call"
                ).fetchall()

        wait_until(lambda: all(row[1] != "queued" for row in stored()), 120, "accepted calls were not placed")
        rows = stored()
        assert {row[0] for row in rows} == accepted, "stored calls differ from the calls answered 200"
        assert all(row[2] and row[3] == 1 for row in rows), "a call was placed other than exactly once"
        assert all(row[1] == "busy" for row in rows), Counter(row[1] for row in rows)
        with psycopg.connect(app_database, autocommit=True) as db:
            keys = db.execute("SELECT count(*) FROM calls_idempotencykey").fetchone()[0]
        assert keys == statuses[200], "a refused request left its Idempotency-Key behind"
        print(f"\noverload: {len(answers)} requests from {CLIENTS} clients in {FLOOD_SECONDS:.0f} s: {dict(statuses)}")
    finally:
        app.stop_all()
