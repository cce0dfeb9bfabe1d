"""Retention: tables that do not grow forever.

`purge()` runs a list of steps. Each step names a model and which of its rows are past
keeping for a cutoff; organization steps get each organization's own cutoff
(`Organization.retention_days`, else RETENTION_DAYS), global ones one cutoff of their own.
Rows go in small batches, each its own short transaction (select a batch of ids, delete
them), so no lock is held for long and the app keeps working while it runs. Live calls
are never touched: only final statuses qualify.

Another kind of data is one more line in STEPS, e.g.
    Step("call recordings", Recording, lambda cutoff: Q(created_at__lt=cutoff)),
(deleting a call deletes what cascades from it: events, webhook deliveries, dispositions,
its recording, whose file leaves with the row: calls.recordings.recording_file_delete.)

`manage.py purge_old_data` runs it by hand; the workers queue `purge_task` every
RETENTION_INTERVAL seconds.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from calls import jobs
from calls.jobs import job
from calls.models import FINAL_STATUSES, Call, WebhookDelivery
from tenants.models import Organization

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """Rows of `model` past keeping: `expired(cutoff)` selects them. With `per_organization`
    the cutoff is each organization's and the rows are filtered on `organization_id`;
    otherwise `days` (a setting's name) gives one cutoff for all."""

    name: str
    model: type[models.Model]
    expired: Callable[[datetime], Q]
    per_organization: bool = True
    days: str = "RETENTION_DAYS"


def _finished_calls(cutoff: datetime) -> Q:
    # Ended before the cutoff; a final call without an end time is judged by its creation.
    return Q(status__in=FINAL_STATUSES) & (
        Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, created_at__lt=cutoff)
    )


STEPS: list[Step] = [
    # Delivered (and never-sent) webhooks first: the bulk of the rows, and no longer needed.
    Step("delivered webhooks", WebhookDelivery,
         lambda cutoff: Q(state__in=[WebhookDelivery.State.DELIVERED, WebhookDelivery.State.CANCELED],
                          created_at__lt=cutoff)),
    # Finished calls, with their events, webhook deliveries and dispositions (cascade).
    Step("finished calls", Call, _finished_calls),
    # The task queue's finished rows: no organization, a cutoff of their own.
    Step("finished tasks", DBTaskResult,
         lambda cutoff: Q(status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff),
         per_organization=False, days="TASK_RETENTION_DAYS"),
]


def _delete_in_batches(queryset: models.QuerySet, batch_size: int, dry_run: bool) -> int:
    if dry_run:
        return queryset.count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            queryset.model._default_manager.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted


def cutoff_for(days: int, now: datetime) -> datetime:
    return now - timedelta(days=days)


def purge(*, steps: list[Step] | None = None, batch_size: int | None = None, dry_run: bool = False,
          now: datetime | None = None) -> dict[str, int]:
    """Delete what each step says is past keeping. Returns rows deleted per step (with
    `dry_run`, the rows that would be; cascaded rows are not counted)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    counts: dict[str, int] = {}
    organizations = list(Organization.objects.values_list("pk", "retention_days"))
    for step in STEPS if steps is None else steps:
        total = 0
        if step.per_organization:
            for organization_id, days in organizations:
                cutoff = cutoff_for(days or settings.RETENTION_DAYS, now)
                queryset = step.model._default_manager.filter(step.expired(cutoff), organization_id=organization_id)
                total += _delete_in_batches(queryset.order_by(), batch_size, dry_run)
        else:
            cutoff = cutoff_for(getattr(settings, step.days), now)
            total = _delete_in_batches(step.model._default_manager.filter(step.expired(cutoff)).order_by(),
                                       batch_size, dry_run)
        counts[step.name] = total
        if total:
            logger.info("retention: %s %s row(s) of %s", "would delete" if dry_run else "deleted", total, step.name)
    return counts


@job(priority=jobs.HOUSEKEEPING)
def purge_task() -> None:
    purge()


def purge_enqueue() -> bool:
    """Queue a purge unless one is waiting or running already (several workers ask)."""
    busy = DBTaskResult.objects.filter(
        task_path=purge_task.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
    ).exists()
    if not busy:
        purge_task.enqueue()
    return not busy
