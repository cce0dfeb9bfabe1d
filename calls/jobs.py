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

A task that fails on a transient database error (connection lost, deadlock, serialization
failure) is queued again with backoff. A task left RUNNING by a worker that died is made
ready again once its lease has run out (`stale_tasks_recover`, called by the sweeper).
Every task is safe to run twice: each claims its row (call, delivery) before acting.
"""

import functools
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task, TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

ANSWER = 50
PLACE = 40
NETWORK = 30
WEBHOOK = 20
TIMER = 10

# Transient failures worth trying again: the database went away, or a lock conflict.
TRANSIENT = (OperationalError, InterfaceError)
MAX_RETRIES = 8
MAX_BACKOFF_SECONDS = 30
# No task of ours runs longer than this (the longest: an answer webhook and its fallback,
# 2 x 10 s, or a carrier request, 13 s); a RUNNING task older than it lost its worker.
TASK_LEASE = timedelta(seconds=60)
# A task that lost its worker this many times is given up on (the sweeper still catches
# the call or delivery it was about).
MAX_RECOVERIES = 5


def _backoff(retry: int) -> timedelta:
    ceiling = min(0.5 * 2**retry, MAX_BACKOFF_SECONDS)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def job(*, priority: int) -> Callable[[Callable[..., Any]], Task]:
    """A task with `priority` that is queued again, with backoff, after a transient failure."""

    def decorate(function: Callable[..., Any]) -> Task:
        @functools.wraps(function)
        def run(*args: Any, retry: int = 0) -> Any:
            try:
                return function(*args)
            except TRANSIENT as exc:
                if retry >= MAX_RETRIES:
                    raise
                close_old_connections()
                logger.warning("%s%r failed (%s); retry %s", function.__name__, args, exc, retry + 1)
                the_task.using(run_after=timezone.now() + _backoff(retry)).enqueue(*args, retry=retry + 1)
                return None

        the_task: Task = task(priority=priority)(run)
        return the_task

    return decorate


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


def stale_tasks_recover() -> int:
    """Make tasks whose worker died (RUNNING past the lease) ready again. Returns how many."""
    stale = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=timezone.now() - TASK_LEASE
    ).values_list("pk", "worker_ids")[:500]
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
    return recovered
