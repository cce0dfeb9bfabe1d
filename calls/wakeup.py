"""Waking idle task workers as soon as a task is committed, instead of at their next poll.

Worker threads (callcenter/worker.py) poll the queue every TASK_WORKER_INTERVAL seconds
when it is empty, and between polls they wait on this process's `wakeup`. It is rung:

- on PostgreSQL, by a notification: a trigger on the task table (migration
  calls/0014_task_ready_notify) sends NOTIFY on CHANNEL for every task inserted (or handed
  back) ready to run now, inside the statement that writes it, so an enqueue costs no extra
  round trip, and PostgreSQL delivers it only once the transaction commits. `Listener`
  holds one connection per worker process that LISTENs and rings `wakeup`;
- on other databases (SQLite: the embedded default, web and worker in one process), by
  `task_enqueued_ring` right after the enqueuing transaction commits.

Nothing depends on a notification arriving: the poll still runs, so a task queued to run
later, or one committed while the listener was reconnecting, waits at most one interval.
"""

import logging
import threading
import time
from typing import Any

import psycopg
from django.db import connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "task_ready"
# How the listener's connection shows in pg_stat_activity.
APPLICATION_NAME = "callcenter task wakeup"
# The listener checks its idle connection this often, so a dead one is noticed even when
# the server could not say goodbye (a network cut rather than a terminated backend).
CHECK_SECONDS = 30.0
# It tries again after a lost connection after this long, doubling up to the ceiling.
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 10.0


class Wakeup:
    """A counter that rises whenever a task may have become ready. A worker reads it
    before polling and, finding nothing, waits for it to move: a task committed during the
    poll itself is then not missed until the next one."""

    def __init__(self) -> None:
        self._moved = threading.Condition()
        self._count = 0

    def count(self) -> int:
        return self._count

    def ring(self) -> None:
        with self._moved:
            self._count += 1
            self._moved.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until the count is no longer `seen`, at most `timeout` seconds; whether it moved."""
        with self._moved:
            return self._moved.wait_for(lambda: self._count != seen, timeout)


wakeup = Wakeup()


def task_enqueued_ring(sender: Any, **kwargs: Any) -> None:
    """Receiver of django_tasks' task_enqueued: on databases without the notification, ring
    this process's workers once the task's row is committed (at once outside a transaction)."""
    if connections["default"].vendor != "postgresql":
        transaction.on_commit(wakeup.ring)


class Listener:
    """One PostgreSQL connection, outside the pool, that LISTENs on CHANNEL and rings
    `wakeup` for each notification; a lost connection is made again, with backoff."""

    def __init__(self, stop: threading.Event, alias: str = "default") -> None:
        self.stop = stop
        self.alias = alias

    def _connect(self) -> psycopg.Connection:
        params = connections[self.alias].get_connection_params()
        params.setdefault("application_name", APPLICATION_NAME)
        conn = psycopg.connect(**params, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def run(self) -> None:
        retry = RETRY_SECONDS
        while not self.stop.is_set():
            try:
                with self._connect() as conn:
                    retry = RETRY_SECONDS
                    # A task committed while nobody listened would otherwise wait for the poll.
                    wakeup.ring()
                    self._listen(conn)
            except (psycopg.Error, OSError):
                logger.warning("task notifications lost; polling alone until they are back", exc_info=True)
            self.stop.wait(retry)
            retry = min(retry * 2, MAX_RETRY_SECONDS)

    def _listen(self, conn: psycopg.Connection) -> None:
        checked = time.monotonic()
        while not self.stop.is_set():
            for _ in conn.notifies(timeout=1.0):
                wakeup.ring()
            if time.monotonic() - checked > CHECK_SECONDS:
                conn.execute("SELECT 1")
                checked = time.monotonic()
