"""Enqueue -> task started: how long a task committed to an idle queue waits for a worker.

One separate `manage.py worker` process (2 threads) on a fresh PostgreSQL database; this
process enqueues no-op tasks (a webhook send for a delivery that does not exist) at a
fixed low rate and reads each task's enqueued_at and started_at. With the wake-up
(calls/wakeup.py) the figures should not follow the poll interval.

    BENCH_DB_PREFIX=<prefix> python -m bench.bench_wakeup [--interval 0.05] [--tasks 100] [--rate 5]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

from bench.common import DB_PREFIX, PG_URL, ROOT, _psql, percentiles, print_machine


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", default="0.05", help="TASK_WORKER_INTERVAL of the worker")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5)
    args = parser.parse_args()
    print_machine()
    db = f"{DB_PREFIX}_wakeup_{uuid.uuid4().hex[:6]}"
    env = {"DATABASE_URL": f"{PG_URL}/{db}", "LOG_LEVEL": "WARNING", "RETENTION_INTERVAL": "0",
           "TASK_WORKER_INTERVAL": args.interval, "TASK_WORKER_THREADS": "2",
           "DJANGO_SETTINGS_MODULE": "callcenter.settings"}  # fmt: skip
    _psql(f'CREATE DATABASE "{db}"')
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    worker = None
    try:
        call_command("migrate", verbosity=0)
        from django_tasks_db.models import DBTaskResult

        from calls.delivery import deliver_webhook
        from calls.models import WorkerHeartbeat

        worker = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        while not WorkerHeartbeat.objects.exists():
            time.sleep(0.2)
        time.sleep(2)  # past the worker's first poll: from here on it is idle between tasks
        ids = []
        started = time.perf_counter()
        for index in range(args.tasks):
            time.sleep(max(0.0, started + index / args.rate - time.perf_counter()))
            ids.append(deliver_webhook.enqueue(10**12).id)
        deadline = time.time() + 60
        while DBTaskResult.objects.filter(pk__in=ids, started_at__isnull=True).exists() and time.time() < deadline:
            time.sleep(0.2)
        waits = [(r.started_at - r.enqueued_at).total_seconds() for r in DBTaskResult.objects.filter(pk__in=ids)
                 if r.started_at]  # fmt: skip
        print(json.dumps({"poll_interval_s": float(args.interval), "tasks": len(waits), "rate": args.rate,
                          "enqueued_to_started_ms": percentiles(waits)}))  # fmt: skip
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
