"""What every benchmark shares: the machine report, a production-style stack, percentiles.

A Stack creates a fresh PostgreSQL database, migrates it, and starts the web server
(uvicorn, N worker processes, no access log; or, with `web="serve"`, N `manage.py serve
--no-worker` processes on ports of their own, as bin/cluster runs production) and a
separate `manage.py worker` process on loopback, with Redis for the channel layer and the cache. Leaving the `with` block stops
every process it started (by process group) and drops the database.
"""

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
# The bench's own Redis database; it is flushed at the start of each stack.
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
# Each stack's throwaway database is named <prefix>_<bench>_<random>.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench")


def percentiles(samples, points=(50, 95, 99)):
    """Nearest-rank percentiles in milliseconds of `samples` given in seconds."""
    if not samples:
        return {f"p{p}": None for p in points}
    ordered = sorted(samples)
    result = {}
    for p in points:
        index = max(int(round(p / 100 * len(ordered) + 0.5)) - 1, 0)
        result[f"p{p}"] = round(ordered[min(index, len(ordered) - 1)] * 1000, 2)
    return result


def _first_line(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine():
    import django

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    redis_version = next(
        (line.split(":", 1)[1] for line in _redis("INFO", "server").splitlines() if line.startswith("redis_version")),
        "unknown",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": _first_line(["psql", PG_URL + "/postgres", "-Atc", "SHOW server_version"]),
        "redis": redis_version.strip(),
        "wrk": _first_line(["sh", "-c", "wrk --version 2>&1"]) if shutil.which("wrk") else "not installed",
    }


def print_machine():
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    return info


def _redis(*args):
    return subprocess.run(
        ["redis-cli", "-n", str(REDIS_DB), *args], capture_output=True, text=True, timeout=10
    ).stdout


def _psql(sql):
    subprocess.run(["psql", PG_URL + "/postgres", "-qAtc", sql], check=True, capture_output=True, timeout=60)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk():
    """wrk from Debian's packages; installed when missing and we are root."""
    if shutil.which("wrk"):
        return "wrk"
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run `apt-get install -y wrk` as root, then run the benchmark again.")
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    return "wrk"


def rss_mb(pid):
    """Resident memory of one process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


class Stack:
    """A fresh database plus web and worker processes, configured like production."""

    def __init__(self, name, *, web_workers=2, worker=True, env=None, web="uvicorn"):
        self.db = f"{DB_PREFIX}_{name}_{uuid.uuid4().hex[:6]}"
        self.web_workers = web_workers
        self.with_worker = worker
        self.web_kind = web
        # "serve": one port per process, the load balancer's targets (`bases`).
        self.ports = [free_port() for _ in range(web_workers if web == "serve" else 1)]
        self.port = self.ports[0]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.base = self.bases[0]
        self.procs = []
        self.env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"{PG_URL}/{self.db}",
            "REDIS_URL": REDIS_URL,
            "CALL_CREATE_RATE": "100000/s",
            "ALLOW_PRIVATE_WEBHOOK_URLS": "1",
            "PUBLIC_BASE_URL": self.base,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "TASK_WORKER_THREADS": "2",
            "TASK_WORKER_INTERVAL": "0.05",
            "SWEEP_INTERVAL": "5",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        _psql(f'CREATE DATABASE "{self.db}"')
        _redis("FLUSHDB")
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return self

    def start(self):
        """Start the web server (and the worker); returns once the server answers."""
        env = {**os.environ, **self.env}
        if self.web_kind == "serve":
            self.webs = [
                self._spawn([sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)], env, f"web-{n}")
                for n, port in enumerate(self.ports, 1)
            ]
        else:
            web = [
                sys.executable, "-m", "uvicorn", "callcenter.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.web_workers),
                "--no-access-log", "--lifespan", "off", "--log-level", "warning",
            ]  # fmt: skip
            self.web = self._spawn(web, env, "web")
        if self.with_worker:
            self.worker = self._spawn([sys.executable, "manage.py", "worker"], env, "worker")
        for base in self.bases:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    urllib.request.urlopen(base + "/bench/bare/", data=b"{}", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise RuntimeError(f"the web server at {base} did not start; see the logs in /tmp/{self.db}-web*.log")
        # Every web process imports Django lazily; warm each one up.
        for _ in range(20 * self.web_workers):
            for base in self.bases:
                urllib.request.urlopen(base + "/bench/bare/", data=b"{}", timeout=5).read()
        return self

    def log_path(self, role):
        return f"/tmp/{self.db}-{role}.log"

    def _spawn(self, command, env, role):
        log = open(self.log_path(role), "w")
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def web_pids(self):
        """The uvicorn processes that serve requests (the workers, or the one process)."""
        if self.web_kind == "serve":
            return [proc.pid for proc in self.webs]
        if self.web_workers == 1:
            return [self.web.pid]
        # With --workers, the serving processes are the master's multiprocessing children.
        kids = children(self.web.pid)
        return [pid for pid in kids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def web_rss(self):
        return {pid: rss_mb(pid) for pid in self.web_pids()}

    def stop_processes(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []

    def __exit__(self, *exc):
        self.stop_processes()
        from django.db import connections

        connections.close_all()
        if not os.environ.get("BENCH_KEEP_DB"):
            _psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    # -- data ------------------------------------------------------------------------------
    def demo(self, org="Bench"):
        """An organization with an API key, an app and a linked from-number (manage.py demo)."""
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("demo", "--json", "--org", org, stdout=out)
        return json.loads(out.getvalue().strip().splitlines()[-1])

    def wait_worker_idle(self, timeout=60):
        """Wait until no task is due; returns the seconds waited."""
        from django.db.models import Q
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult, get_date_max

        started = time.time()
        while time.time() - started < timeout:
            due = DBTaskResult.objects.filter(status="READY").filter(
                Q(run_after=get_date_max()) | Q(run_after__lte=timezone.now())
            )
            if not due.exists():
                break
            time.sleep(0.25)
        return round(time.time() - started, 1)


def run_wrk(url, script, *, env=None, seconds=10, connections=32, threads=1):
    """Closed-loop saturation with wrk; returns requests/s (2xx only) and latency percentiles."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench" / script), url]
    out = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=seconds + 60
    ).stdout
    line = next((line for line in out.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError("wrk printed no summary:\n" + out)
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = round((result["requests"] - result["non2xx"]) / result["seconds"], 1)
    return result


def cpu_seconds(pids):
    """User + system CPU seconds used so far by `pids` (ones that have exited count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pids_named(name):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def cpu_split(stack, seconds_fn):
    """Run `seconds_fn()` and report the CPU seconds web, worker, PostgreSQL and Redis used meanwhile."""
    groups = {
        "web": lambda: stack.web_pids(),
        "worker": lambda: [stack.worker.pid] if stack.with_worker else [],
        "postgres": lambda: pids_named("postgres"),
        "redis": lambda: pids_named("redis-server"),
    }
    before = {name: (pids(), cpu_seconds(pids())) for name, pids in groups.items()}
    started = time.time()
    result = seconds_fn()
    wall = time.time() - started
    split = {name: round((cpu_seconds(pids_before) - used) / wall, 2) for name, (pids_before, used) in before.items()}
    return result, split
