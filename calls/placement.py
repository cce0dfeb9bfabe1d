"""Placement: the way a queued call leaves through its carrier, and how it is hung up there.

The state machine of a call before the carrier has it:

    queued, never tried ──admit──▶ claimed (placing_until) ──carrier.place──▶ carrier_call_id set
        │   over the account's calls-per-second or concurrency limit: stays queued,
        │   place_after says when it is worth trying again (calls leave in queue order)
        └── a retryable carrier error (timeout, 429, 5xx): tried again with backoff,
            at most MAX_PLACE_ATTEMPTS times, then FAILED through the lifecycle

A claim is a lease (PLACE_LEASE_SECONDS), so a worker that dies mid-placement never
dials a call twice and never holds it for good. Carriers only translate; the decisions
are made here.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from calls import jobs, lifecycle, metrics
from calls.carriers import registry
from calls.carriers.base import CarrierError
from calls.jobs import job
from calls.models import FINAL_STATUSES, LIVE_STATUSES, Call, CallStatus, CarrierAccount

logger = logging.getLogger(__name__)

PLACE_LEASE_SECONDS = 60
MAX_PLACE_ATTEMPTS = 5
MAX_RETRY_SECONDS = 60
# How often a call waiting for a free concurrent slot looks again.
CONCURRENCY_POLL_SECONDS = 1.0
# Spreads the wake-ups of calls waiting behind others so they arrive in queue order.
ORDER_STEP_SECONDS = 0.01


@job(priority=jobs.PLACE)
def place_call(call_id: int) -> None:
    place(call_id)


@job(priority=jobs.PLACE)
def carrier_hangup(call_id: int) -> None:
    hang_up(call_id)


def placement_enqueue(call: Call) -> None:
    """Place `call` in the background; the task commits with the call."""
    place_call.enqueue(call.pk)


@dataclass(frozen=True)
class Admission:
    claimed: bool
    wait: float = 0.0  # seconds until it is worth trying again; 0 when claimed or not ours


def interval(account: CarrierAccount) -> float:
    return 1.0 / account.calls_per_second if account.calls_per_second > 0 else 0.0


def admit(call: Call, *, claim: Callable[[], bool]) -> Admission:
    """Let `call` leave now (then `claim()` takes it) or say how long it must wait.

    Calls leave in the order they were queued (created_at, then id): a call never tried
    waits while an older never-tried call of the same account waits. The decision and the
    claim happen under the account's row lock, so two workers never take the last slot.
    """
    with transaction.atomic():
        account = CarrierAccount.objects.select_for_update().get(pk=call.carrier_account_id or 0)
        now = timezone.now()
        step = interval(account)
        ahead = 0
        if call.carrier_attempts == 0:
            ahead = (
                Call.objects.filter(
                    carrier_account=account, status=CallStatus.QUEUED, carrier_call_id="", carrier_attempts=0
                )
                .filter(Q(created_at__lt=call.created_at) | Q(created_at=call.created_at, pk__lt=call.pk))
                .count()
            )
        until_next = max((account.next_placement_at - now).total_seconds(), 0.0) if account.next_placement_at else 0
        if ahead:
            return Admission(False, until_next + ahead * (step + ORDER_STEP_SECONDS))
        live = (
            Call.objects.filter(carrier_account=account, status__in=LIVE_STATUSES)
            .exclude(pk=call.pk)
            .filter(~Q(carrier_call_id="") | Q(placing_until__gt=now))
            .count()
        )
        if live >= account.max_concurrent_calls:
            return Admission(False, max(until_next, CONCURRENCY_POLL_SECONDS))
        if until_next:
            return Admission(False, until_next)
        if not claim():
            return Admission(False)
        account.next_placement_at = now + timedelta(seconds=step)
        account.save(update_fields=["next_placement_at"])
        return Admission(True)


def _claim_for_placing(call_id: int) -> bool:
    now = timezone.now()
    return (
        Call.objects.filter(pk=call_id, status=CallStatus.QUEUED, carrier_call_id="")
        .filter(Q(placing_until__isnull=True) | Q(placing_until__lt=now))
        .update(placing_until=now + timedelta(seconds=PLACE_LEASE_SECONDS), carrier_attempts=F("carrier_attempts") + 1)
        == 1
    )


def _retry_delay(exc: CarrierError, attempts: int) -> float:
    """Exponential backoff with jitter; a carrier's Retry-After is honoured, plus a little jitter."""
    if exc.retry_after is not None:
        return exc.retry_after + random.uniform(0, settings.CARRIER_RETRY_BASE_SECONDS)
    ceiling = min(settings.CARRIER_RETRY_BASE_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    return random.uniform(ceiling / 2, ceiling)


def _place_later(call_id: int, seconds: float) -> None:
    due = timezone.now() + timedelta(seconds=seconds)
    Call.objects.filter(pk=call_id).update(place_after=due)
    place_call.using(run_after=due).enqueue(call_id)


def place(call_id: int) -> None:
    """Hand a queued call to its carrier. Retryable carrier errors are tried again with backoff.

    A call over its account's calls-per-second or concurrency limit stays queued and is
    tried again when a slot is due.
    """
    call = Call.objects.filter(pk=call_id, status=CallStatus.QUEUED, carrier_call_id="").first()
    if call is None:
        return
    if call.carrier_account_id:
        admission = admit(call, claim=lambda: _claim_for_placing(call_id))
        if not admission.claimed:
            if admission.wait:
                _place_later(call_id, admission.wait)
            return
    elif not _claim_for_placing(call_id):
        return
    call = Call.objects.select_related("carrier_account", "agent", "app").get(pk=call_id)
    carrier = registry.for_call(call)
    started = time.monotonic()
    try:
        if call.kind == Call.Kind.CLICK_TO_CALL:
            carrier_call_id = carrier.place_bridged(call)
        else:
            carrier_call_id = carrier.place(call)
    except CarrierError as exc:
        metrics.CARRIER_ERRORS.labels(call.carrier, str(exc.retryable).lower()).inc()
        Call.objects.filter(pk=call_id).update(carrier_error=str(exc)[:2000], placing_until=None)
        if exc.retryable and call.carrier_attempts < MAX_PLACE_ATTEMPTS:
            _place_later(call_id, _retry_delay(exc, call.carrier_attempts))
        else:
            lifecycle.transition(call_id, CallStatus.FAILED, source=call.carrier, note=f"carrier: {exc}"[:200])
        return
    metrics.PLACEMENT_SECONDS.labels(call.carrier).observe(time.monotonic() - started)
    logger.info("call %s placed with %s", call.request_uuid, call.carrier)
    taken: dict = {"carrier_call_id": carrier_call_id, "placing_until": None}
    if not carrier.reports_progress(call):
        # Nothing will tell us how it goes: it lives until the agent ends it or its time limit.
        taken.update(carrier_reports_progress=False,
                     deadline_at=timezone.now() + timedelta(seconds=call.call_time_limit))
    Call.objects.filter(pk=call_id, carrier_call_id="").update(**taken)
    # Hung up while the carrier was dialling: drop it at the carrier too.
    if Call.objects.filter(pk=call_id, status__in=FINAL_STATUSES).exists():
        carrier_hangup.enqueue(call_id)


def hang_up(call_id: int) -> None:
    call = Call.objects.select_related("carrier_account", "agent").get(pk=call_id)
    if not call.carrier_call_id:
        return
    try:
        registry.for_call(call).hang_up(call)
    except CarrierError as exc:
        logger.warning("carrier hang-up of %s failed: %s", call.request_uuid, exc)


def carrier_hangup_schedule(sender, *, call: Call, ended_here: bool = False, **kwargs) -> None:
    """Receiver of lifecycle.transitioned: a call we ended is dropped at its carrier (the task
    is queued with the move)."""
    if ended_here and call.carrier_call_id:
        carrier_hangup.enqueue(call.pk)
