"""Background work: task-queue workers, the periodic sweeper and the floor's rollup, in
threads of one process.

`manage.py serve` starts them beside the ASGI server (the embedded default);
`manage.py worker` runs them alone, for deployments with separate worker processes.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from calls import jobs, sweeper
from floor import rollup

logger = logging.getLogger(__name__)


class _QuietWorker(Worker):
    """The database worker, run in a thread: signal handling stays with the main thread."""

    def configure_signals(self):
        pass


def _sweep_forever(stop):
    while not stop.is_set():
        try:
            close_old_connections()
            sweeper.sweep()
        except Exception:  # the sweeper must outlive a bad moment (database restart, ...)
            logger.exception("sweep failed")
        finally:
            close_old_connections()
        stop.wait(settings.SWEEP_INTERVAL)


def _roll_up_forever(stop):
    # The floor's reports read closed quarter hours from the rollup (floor/rollup.py).
    while not stop.is_set():
        try:
            close_old_connections()
            rollup.roll_up_all()
        except Exception:
            logger.exception("floor rollup failed")
        finally:
            close_old_connections()
        stop.wait(rollup.ROLL_UP_SECONDS)


def _work_forever(worker):
    while worker.running:
        try:
            worker.run()
        except Exception:
            logger.exception("task worker crashed; restarting")
            close_old_connections()
            time.sleep(1)


def _beat_forever(stop, worker_ids):
    # Other processes' sweepers run this process's tasks again if the beat stops.
    while not stop.is_set():
        try:
            close_old_connections()
            jobs.workers_beat(worker_ids)
        except Exception:
            logger.warning("worker heartbeat failed", exc_info=True)
        finally:
            close_old_connections()
        stop.wait(jobs.HEARTBEAT_SECONDS)


def start(*, threads=None):
    """Start worker, heartbeat, sweeper and rollup threads (daemons) and return an Event that
    stops the sweeper, the rollup and the heartbeat."""
    stop = threading.Event()
    worker_ids = []
    for index in range(threads or settings.TASK_WORKER_THREADS):
        worker_ids.append(get_random_string(32))
        worker = _QuietWorker(
            queue_names=["*"],
            interval=settings.TASK_WORKER_INTERVAL,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_ids[-1],
            excluded_queue_names=[],
        )
        threading.Thread(target=_work_forever, args=(worker,), name=f"task-worker-{index}", daemon=True).start()
    jobs.workers_beat(worker_ids)
    threading.Thread(target=_beat_forever, args=(stop, worker_ids), name="heartbeat", daemon=True).start()
    threading.Thread(target=_sweep_forever, args=(stop,), name="sweeper", daemon=True).start()
    threading.Thread(target=_roll_up_forever, args=(stop,), name="floor-rollup", daemon=True).start()
    return stop
