"""Background work: task-queue workers, the periodic sweeper and the floor's rollup, in
threads of one process.

`manage.py serve` starts them beside the ASGI server (the embedded default);
`manage.py worker` runs them alone, for deployments with separate worker processes.

An idle worker thread waits for calls/wakeup.py's signal that a task was committed, with
TASK_WORKER_INTERVAL as the longest wait: a new task is taken at once, and the poll
still finds whatever no signal announced (tasks queued to run later, lost notifications).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import OperationalError, close_old_connections, connections
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from agents import services as agent_services
from callcenter import retention
from calls import jobs, sweeper
from calls.wakeup import Listener, wakeup
from floor import rollup

logger = logging.getLogger(__name__)


class _QuietWorker(Worker):
    """django_tasks_db's worker with a loop of our own, run in a thread: signal handling
    stays with the main thread, and an idle wait ends as soon as a task is committed."""

    def configure_signals(self) -> None:
        pass

    def run(self) -> None:
        while self.running:
            # Read before the poll: a task committed while it runs rings, and the wait
            # below returns at once instead of missing it until the next interval.
            seen = wakeup.count()
            close_old_connections()
            task_result = self._claim()
            if task_result is not None:
                self.run_task(task_result)
            close_old_connections()
            if task_result is None and self.running:
                wakeup.wait(seen, self.interval)

    def _claim(self) -> DBTaskResult | None:
        """The next ready task, claimed for this worker in an exclusive transaction; None
        when there is none (or SQLite's write lock is busy: try again after the wait)."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                task_result = None
        return task_result


def _sweep_forever(stop):
    # The calls' sweep, then agents whose consoles' web process died: each on its own, so
    # one failing does not hold up the other.
    while not stop.is_set():
        for sweep in (sweeper.sweep, agent_services.silent_consoles_sign_out):
            try:
                close_old_connections()
                sweep()
            except Exception:  # the sweeper must outlive a bad moment (database restart, ...)
                logger.exception("%s failed", sweep.__name__)
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

    def __init__(self, stop: threading.Event, workers: list[_QuietWorker], threads: list[threading.Thread]) -> None:
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
        wakeup.ring()  # idle workers stop now, not after their interval
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
    if connections["default"].vendor == "postgresql":
        threading.Thread(target=Listener(stop).run, name="task-wakeup", daemon=True).start()
    threading.Thread(target=_beat_forever, args=(stop, worker_ids), name="heartbeat", daemon=True).start()
    threading.Thread(target=_sweep_forever, args=(stop,), name="sweeper", daemon=True).start()
    threading.Thread(target=_roll_up_forever, args=(stop,), name="floor-rollup", daemon=True).start()
    if settings.RETENTION_INTERVAL > 0:
        threading.Thread(target=_retain_forever, args=(stop,), name="retention", daemon=True).start()
    return Running(stop, workers, worker_threads)
