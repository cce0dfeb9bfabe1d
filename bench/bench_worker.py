"""Worker throughput: sandbox calls carried from queued to their hangup webhook per second,
by one and by two `manage.py worker` processes on PostgreSQL, each with TASK_WORKER_THREADS
task threads (2, the default, unless --threads lists others).

N calls are created first through the create view (in this process), then the workers are
started and timed until every call has ended and every hangup webhook reached a local
receiver. Each call is about six tasks (place, network steps, answer, ring-less hangup
webhook, timers). The sandbox rings and talks for 0 s, so this is the queue's own cost.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<empty db> python -m bench.bench_worker [--calls 200] [--workers 1,2] [--threads 2,4]
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STREAM = json.dumps({"stream": {"url": "wss://media.example.com/ws"}}).encode()


def receiver():
    hangups = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/hangup":
                hangups.append(json.loads(body)["request_uuid"])
            reply = STREAM if self.path == "/answer" else b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", hangups


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--threads", default="2", help="TASK_WORKER_THREADS of each worker process, one run per value")
    options = parser.parse_args()
    env = {**os.environ, "ALLOW_PRIVATE_WEBHOOK_URLS": "1", "SANDBOX_RING_SECONDS": "0",
           "SANDBOX_TALK_SECONDS": "0", "CALL_CREATE_RATE": "100000/s", "LOG_LEVEL": "WARNING",
           "RETENTION_INTERVAL": "0"}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from calls.models import LIVE_STATUSES, Call

    call_command("migrate", verbosity=0)
    demo = json.loads(subprocess.run([sys.executable, "manage.py", "demo", "--json"], cwd=ROOT, env=env,
                                     capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    base, hangups = receiver()
    client = Client()
    runs = [(int(w), int(t)) for w in options.workers.split(",") for t in options.threads.split(",")]
    for workers, threads in runs:
        hangups.clear()
        Call.objects.all().delete()
        for _ in range(options.calls):
            response = client.post("/superfone/sfvopi/calls", content_type="application/json",
                                   HTTP_X_API_KEY=demo["api_key"],
                                   data={"from": demo["from_number"], "to": "+918000000001",
                                         "answer_url": f"{base}/answer", "hangup_url": f"{base}/hangup"})
            assert response.status_code == 200, response.content
        started = time.monotonic()
        processes = [subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT,
                                      env={**env, "TASK_WORKER_THREADS": str(threads)},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            while len(set(hangups)) < options.calls or Call.objects.filter(status__in=LIVE_STATUSES).exists():
                if time.monotonic() - started > 600:
                    raise SystemExit("did not drain in 600 s")
                time.sleep(0.1)
            took = time.monotonic() - started
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
        statuses = sorted(set(Call.objects.values_list("status", flat=True)))
        print(json.dumps({"worker_processes": workers, "threads_each": threads, "calls": options.calls,
                          "seconds": round(took, 1), "calls_per_s": round(options.calls / took, 1),
                          "statuses": statuses, "startup_included": True}))


if __name__ == "__main__":
    main()
