"""Carrier registry and the placing and hanging-up of calls through them."""

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from calls.carriers import throttle
from calls.carriers.base import Carrier, CarrierError, Report
from calls.carriers.callapi import CallApiCarrier
from calls.carriers.didforsale import DidForSaleCarrier
from calls.carriers.sandbox import SandboxCarrier
from calls.carriers.superfone import SuperfoneCarrier
from calls.carriers.vobiz import VobizCarrier
from calls.models import FINAL_STATUSES, Call, CallStatus, CarrierKind

__all__ = ["Carrier", "CarrierError", "Report", "for_account", "for_call", "hang_up", "place"]

logger = logging.getLogger(__name__)

CARRIERS = {
    CarrierKind.SANDBOX: SandboxCarrier,
    CarrierKind.VOBIZ: VobizCarrier,
    CarrierKind.CALLAPI: CallApiCarrier,
    CarrierKind.DIDFORSALE: DidForSaleCarrier,
    CarrierKind.SUPERFONE: SuperfoneCarrier,
}
PLACE_LEASE_SECONDS = 60
MAX_PLACE_ATTEMPTS = 5
MAX_RETRY_SECONDS = 60


def for_account(kind, account):
    return CARRIERS[kind](account)


def for_call(call):
    return for_account(call.carrier, call.carrier_account)


def _claim_for_placing(call_id):
    now = timezone.now()
    return (
        Call.objects.filter(pk=call_id, status=CallStatus.QUEUED, carrier_call_id="")
        .filter(Q(placing_until__isnull=True) | Q(placing_until__lt=now))
        .update(placing_until=now + timedelta(seconds=PLACE_LEASE_SECONDS), carrier_attempts=F("carrier_attempts") + 1)
        == 1
    )


def _retry_delay(exc, attempts):
    """Exponential backoff with jitter; a carrier's Retry-After is honoured, plus a little jitter."""
    if exc.retry_after is not None:
        return exc.retry_after + random.uniform(0, settings.CARRIER_RETRY_BASE_SECONDS)
    ceiling = min(settings.CARRIER_RETRY_BASE_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    return random.uniform(ceiling / 2, ceiling)


def _place_later(call_id, seconds):
    from calls import tasks

    due = timezone.now() + timedelta(seconds=seconds)
    Call.objects.filter(pk=call_id).update(place_after=due)
    tasks.place_call.using(run_after=due).enqueue(call_id)


def place(call_id):
    """Hand a queued call to its carrier. Retryable carrier errors are tried again with backoff.

    A call over its account's calls-per-second or concurrency limit stays queued and is
    tried again when a slot is due (see throttle.py).
    """
    from calls import lifecycle, tasks

    call = Call.objects.filter(pk=call_id, status=CallStatus.QUEUED, carrier_call_id="").first()
    if call is None:
        return
    if call.carrier_account_id:
        admission = throttle.admit(call, claim=lambda: _claim_for_placing(call_id))
        if not admission.claimed:
            if admission.wait:
                _place_later(call_id, admission.wait)
            return
    elif not _claim_for_placing(call_id):
        return
    call = Call.objects.select_related("carrier_account", "agent", "app").get(pk=call_id)
    carrier = for_call(call)
    try:
        if call.kind == Call.Kind.CLICK_TO_CALL:
            carrier_call_id = carrier.place_bridged(call)
        else:
            carrier_call_id = carrier.place(call)
    except CarrierError as exc:
        Call.objects.filter(pk=call_id).update(carrier_error=str(exc)[:2000], placing_until=None)
        if exc.retryable and call.carrier_attempts < MAX_PLACE_ATTEMPTS:
            _place_later(call_id, _retry_delay(exc, call.carrier_attempts))
        else:
            lifecycle.transition(call_id, CallStatus.FAILED, source=call.carrier, note=f"carrier: {exc}"[:200])
        return
    Call.objects.filter(pk=call_id, carrier_call_id="").update(carrier_call_id=carrier_call_id, placing_until=None)
    # Hung up while the carrier was dialling: drop it at the carrier too.
    if Call.objects.filter(pk=call_id, status__in=FINAL_STATUSES).exists():
        tasks.carrier_hangup.enqueue(call_id)


def hang_up(call_id):
    call = Call.objects.select_related("carrier_account", "agent").get(pk=call_id)
    if not call.carrier_call_id:
        return
    try:
        for_call(call).hang_up(call)
    except CarrierError as exc:
        logger.warning("carrier hang-up of %s failed: %s", call.request_uuid, exc)
