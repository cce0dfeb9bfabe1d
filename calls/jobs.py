"""How calls/ runs background work: task priorities, retries of transient failures, and the
recovery of tasks whose worker died.

Tasks go through Django's tasks API (the django-tasks backport) to django-tasks-db, whose
workers take ready tasks by priority first, then by due time. Our priorities say what must
never wait behind other work:

    ANSWER     asking the customer's answer webhook: the call stands still until it is asked
    PLACE      handing a queued call to its carrier, and hanging one up there
    NETWORK    the sandbox's simulated network steps
    WEBHOOK    ring and hangup webhooks
    TIMER      deadlines (the sweeper ends anything a late timer missed)
    HOUSEKEEPING  retention's purge of old rows, when nothing else waits

A task that fails on a transient database error (connection lost, deadlock, serialization
failure) is queued again with backoff; queuing the retry is itself tried on a fresh
connection a few times, since the failure that ended the task (every backend terminated,
say) may still be under way. Worker threads beat a heartbeat; a task left RUNNING
by a worker that went silent is made ready again (`stale_tasks_recover`, called by the
sweeper), within seconds of the worker's death.
Every task is safe to run twice: each claims its row (call, delivery) before acting.

Tasks are queued inside the transaction of the change they follow, never on commit: the
task table lives in the same database, so the task's row commits with the change or not
at all. Queued on commit, a task is lost when the process dies (or the database goes
away) between the commit and the insert, and a re-run of the task that made the change
finds it made and queues nothing: a call left in progress, an agent left in wrap-up.
Workers cannot see the row before the commit either way.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.db.models import Count, Min
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from calls.models import WorkerHeartbeat
from tenants import requestid

logger = logging.getLogger(__name__)

ANSWER = 50
# Ring and hangup webhooks share the answer's priority, so they keep their order with it.
WEBHOOK = 50
PLACE = 40
NETWORK = 30
TIMER = 10
# Retention's purge (callcenter/retention.py): after everything else.
HOUSEKEEPING = 0

# Transient failures worth trying again: the database went away, or a lock conflict.
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 8
# Tries at queuing a retry, and the pause before the next one (grows by this much each time).
REQUEUE_TRIES = 4
REQUEUE_PAUSE_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 30
# Workers say they are alive this often; one silent for WORKER_SILENCE has died, and the
# tasks it was running are run again at once.
HEARTBEAT_SECONDS = 2.0
WORKER_SILENCE = timedelta(seconds=10)
# No task of ours runs anywhere near this long (the longest: an answer webhook and its
# fallback, 2 x 10 s); one RUNNING longer is hung, whatever its worker says.
TASK_LEASE = timedelta(minutes=5)
# A task that lost its worker this many times is given up on (the sweeper still catches
# the call or delivery it was about).
MAX_RECOVERIES = 5


def _backoff(retry: int) -> timedelta:
    ceiling = min(0.5 * 2**retry, MAX_BACKOFF_SECONDS)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


class RequestTask(Task):
    """A task that carries the request id of whoever queued it (tenants/requestid.py), stored
    with the task's arguments, so the worker's log lines and webhooks carry it too."""

    __slots__ = ()

    def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        rid = requestid.current()
        if rid is not None:
            kwargs.setdefault("request_id", rid)
        return super().enqueue(*args, **kwargs)


def job(*, priority: int) -> Callable[[Callable[..., Any]], Task]:
    """A task with `priority` that is queued again, with backoff, after a transient failure,
    and runs under the request id it was queued with."""

    def decorate(function: Callable[..., Any]) -> Task:
        @functools.wraps(function)
        def run(*args: Any, retry: int = 0, request_id: str | None = None) -> Any:
            with requestid.bound(request_id):
                try:
                    return function(*args)
                except TRANSIENT as exc:
                    if retry >= MAX_RETRIES:
                        raise
                    logger.warning("%s%r failed (%s); retry %s", function.__name__, args, exc, retry + 1)
                    _requeue(the_task, args, retry + 1)
                    return None

        plain = task(priority=priority)(run)
        the_task: Task = RequestTask(
            func=plain.func, priority=plain.priority, backend=plain.backend, queue_name=plain.queue_name,
            run_after=plain.run_after, takes_context=plain.takes_context,
        )
        return the_task

    return decorate


def _requeue(the_task: Task, args: tuple, retry: int) -> None:
    """Queue `the_task` again; a failure to queue it is tried again on a fresh connection
    (a task that could not be queued again would end FAILED, its work lost)."""
    for attempt in range(1, REQUEUE_TRIES + 1):
        try:
            close_old_connections()  # drops the connection that failed
            the_task.using(run_after=timezone.now() + _backoff(retry - 1)).enqueue(*args, retry=retry)
            return
        except TRANSIENT:
            if attempt == REQUEUE_TRIES:
                raise
            time.sleep(REQUEUE_PAUSE_SECONDS * attempt)


def queued_ids(the_task: Task, ids: list[int]) -> set[int]:
    """Which of `ids` (a task's first argument) already have `the_task` waiting or running,
    so the sweeper never queues the same work twice."""
    if not ids:
        return set()
    waiting = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=the_task.module_path,
        args_kwargs__args__0__in=ids,
    )
    return {args_kwargs["args"][0] for args_kwargs in waiting.values_list("args_kwargs", flat=True)}


def workers_beat(worker_ids: list[str]) -> None:
    """Record that these worker threads (of the calling process) are alive."""
    now = timezone.now()
    for worker_id in worker_ids:
        WorkerHeartbeat.objects.update_or_create(worker_id=worker_id, defaults={"seen_at": now})


def tasks_release(worker_ids: list[str]) -> int:
    """Hand back the tasks these (stopping) worker threads still run: READY and due now, so
    another worker takes them at once. Safe: every task claims its row before acting."""
    if not worker_ids:
        return 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).values_list("pk", "worker_ids")
    mine = [pk for pk, ids in running if ids and ids[-1] in worker_ids]
    return DBTaskResult.objects.filter(pk__in=mine, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, run_after=timezone.now()
    )


def workers_gone(worker_ids: list[str]) -> None:
    """These worker threads stopped on purpose: forget their heartbeats."""
    WorkerHeartbeat.objects.filter(worker_id__in=worker_ids).delete()


def stale_tasks_recover() -> int:
    """Make tasks whose worker died (silent past WORKER_SILENCE) or that hung (RUNNING past
    TASK_LEASE) ready again. Returns how many."""
    now = timezone.now()
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=now - WORKER_SILENCE).values_list("worker_id", flat=True))
    running = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - WORKER_SILENCE
    ).values_list("pk", "worker_ids", "started_at")[:500]
    hung_since = now - TASK_LEASE
    stale = [
        (pk, worker_ids) for pk, worker_ids, started_at in running
        if (worker_ids[-1] if worker_ids else None) not in alive or (started_at and started_at < hung_since)
    ]
    recovered = 0
    for pk, worker_ids in stale:
        if len(worker_ids) >= MAX_RECOVERIES:
            DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=timezone.now()
            )
            logger.error("task %s lost its worker %s times; given up", pk, len(worker_ids))
            continue
        try:
            recovered += DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY, run_after=timezone.now()
            )
        except DatabaseError:
            logger.warning("could not recover task %s", pk, exc_info=True)
    if recovered:
        logger.warning("recovered %s task(s) whose worker died", recovered)
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(hours=1)).delete()
    return recovered


def queue_figures() -> tuple[int, float]:
    """How many tasks are due now, and how many seconds the oldest of them has waited (0
    with none). Two aggregates over the queue's partial index of ready tasks: cheap enough
    for a readiness probe every second and a metrics scrape."""
    now = timezone.now()
    ready = DBTaskResult.objects.ready()
    # A task queued to run at once carries a far-future sentinel as run_after (django-tasks-db):
    # it has waited since it was queued; a delayed one since its run_after.
    sentinel = get_date_max()
    delayed = ready.exclude(run_after=sentinel).aggregate(n=Count("pk"), oldest=Min("run_after"))
    immediate = ready.filter(run_after=sentinel).aggregate(n=Count("pk"), oldest=Min("enqueued_at"))
    oldest = min((t for t in (delayed["oldest"], immediate["oldest"]) if t is not None), default=None)
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return delayed["n"] + immediate["n"], age
