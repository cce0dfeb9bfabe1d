"""The floor's rollup: calls, state time and dispositions summed per organization, agent
and quarter hour of UTC (floor.models), so a month's report sums a few thousand rows
instead of a million calls.

`roll_up` extends an organization's rollup over the quarter hours that are closed: past
(by `SETTLE`, so transactions still committing are seen) and holding no live call (a call
belongs to the quarter it was placed in, and its figures change until it ends). A state
interval's share of a past quarter never changes once the quarter is over. A disposition
can be given or corrected at any time: those saved since the last pass are summed again
by the next one, and until then readers take their quarters from the raw tables.

The worker calls `roll_up_all` every `ROLL_UP_SECONDS` (callcenter/worker.py);
`manage.py rebuild_floor_figures` sums an organization's whole history again. Readers
(floor.figures) take whole quarters before `FigureMark.rolled_until` from here and
everything else (the edges of a period, the open quarter) from the raw tables, so a
report is the same whether the rollup is up to date, late, or missing.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, IntegerField, Min, Model, Q, Sum
from django.db.models.functions import Coalesce, ExtractMinute, Floor, TruncHour
from django.utils import timezone

from agents.models import AgentState, CallDisposition
from calls.models import LIVE_STATUSES, Call
from floor.models import CallFigure, DispositionFigure, FigureMark, StateFigure
from tenants.models import Organization

logger = logging.getLogger(__name__)

QUARTER = timedelta(minutes=15)
# Rows written this long ago may still be committing; quarters are closed only after it.
SETTLE = timedelta(seconds=60)
ROLL_UP_SECONDS = 60
# The first pass over a long history is summed a day at a time (bounded memory).
CHUNK = timedelta(days=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def quarter_floor(moment: datetime) -> datetime:
    return moment - (moment.astimezone(UTC) - _EPOCH) % QUARTER


def quarter_ceil(moment: datetime) -> datetime:
    floor = quarter_floor(moment)
    return floor if floor == moment else floor + QUARTER


def quarters_fit(zone: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether the zone's local hours are whole quarter hours of UTC over [start, end): true of
    every zone in use today; not of old local mean times (e.g. +5:53:28), read raw."""
    moment = start
    while True:
        offset = moment.astimezone(zone).utcoffset() or timedelta(0)
        if offset % QUARTER:
            return False
        if moment >= end:
            return True
        # Offsets change at most a few times a year: a daily look finds every one in use.
        moment = min(moment + timedelta(days=1), end)


# Writing -----------------------------------------------------------------------------


def _hour_of(field: str) -> TruncHour:
    """The UTC hour of a datetime column (with `_quarter_of`: its bucket, portable across databases)."""
    return TruncHour(field, tzinfo=UTC)


def _quarter_of(field: str) -> Floor:
    return Floor(ExtractMinute(field, tzinfo=UTC) / 15, output_field=IntegerField())


def _bucket(row: Mapping[str, Any]) -> datetime:
    return row["hour"].astimezone(UTC) + int(row["quarter"]) * QUARTER


def _sum_calls(organization_id: int, start: datetime, end: datetime) -> list[CallFigure]:
    rows = (
        Call.objects.filter(organization_id=organization_id, created_at__gte=start, created_at__lt=end)
        .annotate(hour=_hour_of("created_at"), quarter=_quarter_of("created_at"))
        .values("agent_id", "hour", "quarter")
        .annotate(placed=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)),
                  talk=Coalesce(Sum("duration", filter=Q(answered_at__isnull=False)), 0))
        .order_by()
    )
    return [CallFigure(organization_id=organization_id, agent_id=row["agent_id"], bucket=_bucket(row),
                       placed=row["placed"], answered=row["answered"], talk_seconds=row["talk"]) for row in rows]


def _sum_states(organization_id: int, start: datetime, end: datetime) -> list[StateFigure]:
    """Each interval overlapping [start, end) cut at quarter boundaries (an open one runs past `end`)."""
    spent: dict[tuple[int, datetime, str, int | None], int] = defaultdict(int)
    intervals = (
        AgentState.objects.filter(organization_id=organization_id, started_at__lt=end)
        .filter(Q(ended_at__gt=start) | Q(ended_at__isnull=True))
        .values_list("agent_id", "state", "pause_reason_id", "started_at", "ended_at")
        .order_by()
    )
    for agent_id, state, reason_id, began, ended in intervals.iterator(chunk_size=5000):
        began, ended = max(began, start), min(ended or end, end)
        bucket = quarter_floor(began)
        while bucket < ended:
            following = bucket + QUARTER
            part = min(ended, following) - max(began, bucket)
            if part > timedelta(0):
                spent[agent_id, bucket, state, reason_id] += part // timedelta(microseconds=1)
            bucket = following
    return [StateFigure(organization_id=organization_id, agent_id=agent_id, bucket=bucket, state=state,
                        pause_reason_id=reason_id, microseconds=micro)
            for (agent_id, bucket, state, reason_id), micro in spent.items()]


def _sum_dispositions(organization_id: int, start: datetime, end: datetime) -> list[DispositionFigure]:
    rows = (
        CallDisposition.objects.filter(organization_id=organization_id, call__created_at__gte=start,
                                       call__created_at__lt=end)
        .annotate(hour=_hour_of("call__created_at"), quarter=_quarter_of("call__created_at"))
        .values("disposition_id", "hour", "quarter")
        .annotate(calls=Count("id"), talk=Coalesce(Sum("call__duration"), 0))
        .order_by()
    )
    return [DispositionFigure(organization_id=organization_id, disposition_id=row["disposition_id"],
                              bucket=_bucket(row), calls=row["calls"], talk_seconds=row["talk"]) for row in rows]


def _write(organization_id: int, start: datetime, end: datetime, *, dispositions_only: bool = False) -> None:
    """Replace the figures of the quarters in [start, end) with sums of the raw rows."""
    kinds: list[tuple[type[Model], Callable[[int, datetime, datetime], Sequence[Model]]]] = [
        (DispositionFigure, _sum_dispositions)]
    if not dispositions_only:
        kinds += [(CallFigure, _sum_calls), (StateFigure, _sum_states)]
    for model, summed in kinds:
        model._default_manager.filter(organization_id=organization_id, bucket__gte=start, bucket__lt=end).delete()
        model._default_manager.bulk_create(summed(organization_id, start, end), batch_size=2000)


def closed_until(organization_id: int, now: datetime) -> datetime:
    """The end of the quarters that may be summed now: past, and before the earliest live call."""
    until = quarter_floor(now - SETTLE)
    live = Call.objects.filter(organization_id=organization_id, status__in=LIVE_STATUSES).aggregate(
        first=Min("created_at"))["first"]
    return min(until, quarter_floor(live)) if live is not None else until


def _lock(organization_id: int) -> bool:
    """One pass per organization at a time, whichever process runs it. FOR NO KEY UPDATE:
    inserting calls and states (which share-lock the organization's key) never waits for it."""
    return Organization.objects.select_for_update(no_key=True).filter(pk=organization_id).exists()


def roll_up(organization_id: int, now: datetime | None = None) -> FigureMark | None:
    """Sum the organization's newly closed quarters, and again those of newly saved dispositions.

    A day of quarters per transaction, the mark moving with each: a first pass over a long
    history neither holds one long transaction nor loses its work if stopped.
    """
    now = now or timezone.now()
    first = True
    while True:
        with transaction.atomic():
            if not _lock(organization_id):
                return None
            mark = FigureMark.objects.filter(organization_id=organization_id).first()
            until = closed_until(organization_id, now)
            if mark is None:
                firsts = [
                    Call.objects.filter(organization_id=organization_id).aggregate(m=Min("created_at"))["m"],
                    AgentState.objects.filter(organization_id=organization_id).aggregate(m=Min("started_at"))["m"],
                ]
                known = [moment for moment in firsts if moment is not None]
                start = min(quarter_floor(min(known)), until) if known else until
                mark = FigureMark(organization_id=organization_id, rolled_until=start, checked_at=now)
            elif first:
                # Quarters summed before whose dispositions changed since (with SETTLE's margin).
                changed = (
                    CallDisposition.objects.filter(organization_id=organization_id,
                                                   updated_at__gte=mark.checked_at - SETTLE,
                                                   call__created_at__lt=mark.rolled_until)
                    .values_list("call__created_at", flat=True)
                )
                for bucket in sorted({quarter_floor(moment) for moment in changed}):
                    _write(organization_id, bucket, bucket + QUARTER, dispositions_only=True)
                mark.checked_at = now
            first = False
            step = min(mark.rolled_until + CHUNK, until)
            if mark.rolled_until < step:
                _write(organization_id, mark.rolled_until, step)
                mark.rolled_until = step
            mark.save()
            if mark.rolled_until >= until:
                return mark


def rebuild(organization_id: int, now: datetime | None = None) -> FigureMark | None:
    """Forget the organization's rollup and sum its whole history again (reports read the
    raw tables for what is not summed yet, so they stay right meanwhile)."""
    with transaction.atomic():
        if not _lock(organization_id):
            return None
        for model in (CallFigure, StateFigure, DispositionFigure, FigureMark):
            model._default_manager.filter(organization_id=organization_id).delete()
    return roll_up(organization_id, now)


def roll_up_all(now: datetime | None = None) -> int:
    """One pass over every organization; returns how many were rolled up."""
    done = 0
    for organization_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        try:
            roll_up(organization_id, now)
            done += 1
        except Exception:  # one organization's trouble must not stop the others'
            logger.exception("rolling up the floor's figures of organization %s failed", organization_id)
    return done


# Reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """[start, end) read from the rollup, and the raw pieces around it."""

    rolled: tuple[datetime, datetime] | None
    raw: list[tuple[datetime, datetime]]


def split(organization_id: int, start: datetime, end: datetime, zone: ZoneInfo, now: datetime,
          *, dispositions: bool = False) -> Split:
    whole = Split(None, [(start, end)])
    mark = FigureMark.objects.filter(organization_id=organization_id).first()
    if mark is None:
        return whole
    until = min(mark.rolled_until, quarter_floor(now))
    if dispositions:
        # Dispositions saved since the last pass: their quarters (and what follows) are read raw.
        first = (
            CallDisposition.objects.filter(organization_id=organization_id, updated_at__gte=mark.checked_at - SETTLE,
                                           call__created_at__lt=until)
            .aggregate(m=Min("call__created_at"))["m"]
        )
        if first is not None:
            until = min(until, quarter_floor(first))
    low, high = quarter_ceil(start), min(quarter_floor(end), until)
    if low >= high or not quarters_fit(zone, start, end):
        return whole
    raw = [(a, b) for a, b in ((start, low), (high, end)) if a < b]
    return Split((low, high), raw)
