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

from callcenter import retention
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


def _retain_forever(stop):
    # Every process queues the purge; retention.purge_enqueue keeps it to one at a time.
    while not stop.wait(settings.RETENTION_INTERVAL):
        try:
            close_old_connections()
            retention.purge_enqueue()
        except Exception:
            logger.warning("could not queue the retention purge", exc_info=True)
        finally:
            close_old_connections()


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


class Running:
    """The background threads of this process, and how to stop them without losing work."""

    def __init__(self, stop: threading.Event, workers: list[Worker], threads: list[threading.Thread]) -> None:
        self.stop_event = stop
        self.workers = workers
        self.threads = threads

    @property
    def worker_ids(self) -> list[str]:
        return [worker.worker_id for worker in self.workers]

    def shutdown(self, grace: float | None = None) -> int:
        """Take no new task, let running ones finish for up to `grace` seconds, then hand
        back (READY, due now) any still running so another worker takes it at once instead
        of after the heartbeat silence. Returns how many were handed back."""
        grace = settings.WORKER_SHUTDOWN_GRACE if grace is None else grace
        for worker in self.workers:
            worker.running = False
        self.stop_event.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 0))
        close_old_connections()
        try:
            released = jobs.tasks_release(self.worker_ids)
            jobs.workers_gone(self.worker_ids)
        except Exception:  # the database may be what is going away; the sweeper recovers them
            logger.warning("could not hand back this worker's tasks", exc_info=True)
            return 0
        finally:
            close_old_connections()
        if released:
            logger.warning("handed back %s running task(s) at shutdown", released)
        return released


def start(*, threads=None) -> Running:
    """Start worker, heartbeat, sweeper and rollup threads (daemons); `shutdown()` on the
    result stops them gracefully."""
    stop = threading.Event()
    worker_ids = []
    workers = []
    worker_threads = []
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
        thread = threading.Thread(target=_work_forever, args=(worker,), name=f"task-worker-{index}", daemon=True)
        thread.start()
        workers.append(worker)
        worker_threads.append(thread)
    jobs.workers_beat(worker_ids)
    threading.Thread(target=_beat_forever, args=(stop, worker_ids), name="heartbeat", daemon=True).start()
    threading.Thread(target=_sweep_forever, args=(stop,), name="sweeper", daemon=True).start()
    threading.Thread(target=_roll_up_forever, args=(stop,), name="floor-rollup", daemon=True).start()
    if settings.RETENTION_INTERVAL > 0:
        threading.Thread(target=_retain_forever, args=(stop,), name="retention", daemon=True).start()
    return Running(stop, workers, worker_threads)
