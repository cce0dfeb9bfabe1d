"""Shared fixtures: an organization with a key, an app and a linked number; a real webhook
receiver on loopback; and a runner for the background task queue."""

import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from calls import services
from calls.api import throttling
from calls.models import Call, LinkedNumber
from tenants import auth
from tenants.models import Organization
from tenants.services import api_key_create

STREAM_JSON = {"stream": {"url": "wss://media.example.com/ws", "codec": "PCMA", "sample_rate": 8000}}


def needs(available: bool, what: str) -> None:
    """Skip a test whose machine lacks `what` (a binary or a service), loudly; under CI
    (CI=true) fail instead, so nothing skips silently there."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {what}", pytrace=False)
    pytest.skip(f"SKIPPED: {what} is missing")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real headless Chromium against a served copy of the app")
    config.addinivalue_line(
        "markers",
        "own_database(vendor): the app processes the test starts run on a database of that kind of their own, "
        "whichever the suite runs on, so only the suite's pass on that kind runs it",
    )


def pytest_collection_modifyitems(config, items):
    # Both passes would run such a test against the same kind of database: once is enough.
    for item in items:
        marker = item.get_closest_marker("own_database")
        if marker and marker.args[0] != connection.vendor:
            kind = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[marker.args[0]]
            item.add_marker(pytest.mark.skip(reason=f"its app runs on {kind} of its own: the suite's {kind} pass runs it"))


@pytest.fixture(autouse=True)
def _embedded_settings(settings):
    # Rate-limit windows live in the cache; each test starts with a fresh allowance,
    # and with no API key remembered from an earlier test.
    cache.clear()
    throttling.forget_leases()
    auth._verified.clear()
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = True
    settings.SANDBOX_RING_SECONDS = 0
    settings.SANDBOX_TALK_SECONDS = 0.2
    # Logins are created in most tests; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def race(tenant, count, request):
    """Send `count` requests at once, each from a thread and API client of its own, and
    return (status, JSON body) per request. On a busy machine the database pool may run dry:
    a request answered 503 is sent again after a pause, as its Retry-After asks a client to."""
    barrier = threading.Barrier(count)
    results = []

    def run(index):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=tenant.api_key)
        barrier.wait()
        try:
            for _ in range(20):
                response = request(client, index)
                if response.status_code != 503 or response.get("Retry-After") != "1":
                    break
                time.sleep(0.2)
            results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == count, "a request raised instead of answering"
    return results


@dataclass
class Tenant:
    organization: Organization
    api_key: str
    app: object
    from_number: str
    api: APIClient


def make_tenant(name, number_suffix):
    organization = Organization.objects.create(name=name)
    _, raw_key = api_key_create(organization=organization, name="test")
    app = services.app_create(
        organization=organization, name=f"{name} app", answer_url="https://customer.example.com/answer"
    )
    from_number = f"+9180000{number_suffix:05d}"
    LinkedNumber.objects.create(organization=organization, number=from_number)
    services.number_link(app=app, number=from_number)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return Tenant(organization, raw_key, app, from_number, client)


def queued_call(tenant, **fields):
    """A call as the API would queue it, with all three customer webhooks set."""
    return Call.objects.create(
        organization=tenant.organization,
        app=tenant.app,
        from_number=tenant.from_number,
        to_number="+918000000001",
        answer_url="https://customer.example.com/answer",
        ring_url="https://customer.example.com/ring",
        hangup_url="https://customer.example.com/hangup",
        **fields,
    )


@pytest.fixture
def tenant(db):
    return make_tenant("Acme", 1)


@pytest.fixture
def other_tenant(db):
    return make_tenant("Globex", 2)


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: dict
    raw: bytes
    query: str = ""  # the raw query string, as sent


@dataclass
class WebhookServer:
    """A customer's webhook server: records every request and answers as told per path."""

    base_url: str
    received: list = field(default_factory=list)
    # path -> (status, body bytes or dict, delay seconds[, extra headers])
    responses: dict = field(default_factory=dict)

    def url(self, path):
        return f"{self.base_url}{path}"

    def paths(self):
        return [request.path for request in self.received]

    def wait_for(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def webhook_server():
    received = []
    server_state = WebhookServer(base_url="", received=received)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else dict(parse_qsl(parts.query))
            received.append(Received(self.command, parts.path, dict(self.headers), body, raw, parts.query))
            default = (200, STREAM_JSON if parts.path.endswith("answer") else {"ok": True}, 0)
            status, reply, delay, *extra = server_state.responses.get(parts.path, default)
            if delay:
                time.sleep(delay)
            payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


def _run_one_due_task():
    # In the worker's own order: priority first, then due time.
    result = DBTaskResult.objects.ready().first()
    if result is None:
        return False
    result.claim("tests")
    task_result = result.task_result
    try:
        result.task.call(*task_result.args, **task_result.kwargs)
    except Exception as exc:
        result.set_failed(exc)
        raise
    result.set_successful(None)
    return True


@pytest.fixture
def run_tasks():
    """Run queued background tasks in this thread, as the worker would.

    With `wait` it also waits (up to that many seconds) for tasks scheduled a little later.
    """

    def run(wait=0.0, limit=500):
        ran = 0
        deadline = time.monotonic() + wait
        while ran < limit:
            if _run_one_due_task():
                ran += 1
                continue
            remaining = deadline - time.monotonic()
            due_soon = DBTaskResult.objects.filter(
                status="READY", run_after__lte=timezone.now() + timedelta(seconds=max(remaining, 0))
            ).exists()
            if not due_soon or remaining <= 0:
                break
            time.sleep(0.02)
        return ran

    return run
