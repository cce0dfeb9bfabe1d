"""Fault tests run the app as real processes against a database of their own, so that a
process can be killed or a server restarted without touching the suite's database or the
machine's own services."""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest
import requests
from django.db import connection

from tests import migrated
from tests.conftest import needs

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s: {message}")


class App:
    """The call center as separate OS processes: `serve --no-worker` and `worker`."""

    def __init__(self, database_url, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ALLOW_PRIVATE_WEBHOOK_URLS": "1",
            "SANDBOX_RING_SECONDS": "0",
            "SANDBOX_TALK_SECONDS": "0.2",
            "SWEEP_INTERVAL": "0.5",
            "TASK_WORKER_INTERVAL": "0.1",
            "CALL_CREATE_RATE": "1000/s",
            "PUBLIC_BASE_URL": self.base_url,
            "LOG_LEVEL": "WARNING",
            # stop_all waits 10 s for a SIGTERMed server; its in-process worker must not wait longer.
            "WORKER_SHUTDOWN_GRACE": "5",
        }
        self.env.pop("REDIS_URL", None)
        self.processes = {}

    def manage(self, *args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def query(self, code):
        """Run `code` in a Django shell of the app and return what it prints, parsed as JSON."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def start(self, name, *args):
        log = open(Path(self.workdir) / f"{name}.log", "a")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        return self.processes[name]

    def start_web(self):
        self.start("web", "serve", "--no-worker", "--port", str(self.port))
        wait_until(self._answers, 30, "the web process did not start")

    def _answers(self):
        try:
            return requests.get(f"{self.base_url}/superfone/sfvopi/apps", timeout=1).status_code == 401
        except requests.RequestException:
            return False

    def kill(self, name, sig=signal.SIGKILL):
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(timeout=10)

    def stop_all(self):
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM if name == "web" else signal.SIGKILL)


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="callcenter-fault-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def app_database(workdir):
    """A migrated database of the same kind the suite runs on, for the app processes alone."""
    if connection.vendor != "postgresql":
        yield migrated.sqlite_database(f"{workdir}/app.sqlite3")
        return
    settings = connection.settings_dict
    server = f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    name = f"callcenter_fault_{uuid.uuid4().hex[:8]}"
    yield migrated.postgres_database(server, name)
    migrated.drop_postgres_database(server, name)


@pytest.fixture
def app(app_database, workdir):
    running = App(app_database, workdir)
    yield running
    running.stop_all()


def _postgres_bin(tool):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    return found[-1] if found else shutil.which(tool)


class ThrowawayPostgres:
    """A PostgreSQL server of our own on a free port, which a test may stop and restart."""

    def __init__(self, workdir):
        self.port = free_port()
        self.datadir = Path(workdir) / "pgdata"
        self.datadir.mkdir()
        # PostgreSQL refuses to run as root; run it as the postgres user when we are root.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(workdir, "postgres")
            shutil.chown(self.datadir, "postgres")
        self._run(_postgres_bin("initdb"), "-D", str(self.datadir), "-A", "trust", "-U", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command):
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def _ctl(self, *args):
        self._run(
            _postgres_bin("pg_ctl"), "-D", str(self.datadir), "-w", "-l", str(self.datadir / "server.log"),
            "-o", f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1", *args,
        )

    def start(self):
        self._ctl("start")

    def stop(self):
        self._ctl("stop", "-m", "immediate")


@pytest.fixture
def throwaway_postgres(workdir):
    needs(bool(_postgres_bin("initdb") and _postgres_bin("pg_ctl")), "PostgreSQL server binaries (initdb, pg_ctl)")
    server = ThrowawayPostgres(workdir)
    server.start()
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass


# --- The production shape under faults (tests/faults/test_nothing_lost.py) ---

FAULT_REPORTS = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "production_shape: runs web and worker as separate processes on PostgreSQL and Redis under faults"
    )


def pytest_terminal_summary(terminalreporter):
    """The figures of each production-shape run, printed whether it passed or not, so they can be quoted."""
    for title, lines in FAULT_REPORTS:
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


def required(reason):
    """Skip for a missing service locally; under CI (CI=true) a missing service fails the run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs it: {reason}")
    pytest.skip(f"SKIPPED: {reason}")


def terminate_backends(database_url):
    """Terminate every PostgreSQL backend connected to the app's database, from a superuser connection."""
    server, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return sum(1 for (done,) in rows if done)


class Receiver:
    """A customer's webhook server that can answer 500s and go down (refusing connections)
    and come back on the same port. Records every request it answers."""

    def __init__(self, replies):
        self.replies = replies  # path -> JSON body for a 200
        self.received = []
        self.lock = threading.Lock()
        self.fail_every = 0  # answer every n-th request with a 500
        self.count = 0
        self.port = free_port()
        self.server = None
        self.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.count += 1
                    status = 500 if receiver.fail_every and receiver.count % receiver.fail_every == 0 else 200
                    try:
                        body = json.loads(raw) if raw else dict(parse_qsl(parts.query))
                    except ValueError:
                        body = {}
                    receiver.received.append({
                        "path": parts.path, "headers": dict(self.headers), "raw": raw, "body": body, "status": status,
                    })
                payload = json.dumps(receiver.replies.get(parts.path, {"ok": True}) if status == 200 else
                                     {"error": "flaky"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        """Stop listening: connections are refused until `start`."""
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def close(self):
        if self.server is not None:
            self.down()
