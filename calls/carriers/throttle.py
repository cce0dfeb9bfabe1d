"""Per-account calls-per-second and concurrent-call limits.

A call over a limit is not failed: it stays QUEUED and its placement is tried again
later. Calls leave in the order they were queued (created_at, then id): a call that has
never been tried waits while an older never-tried call of the same account is waiting.
The decision and the claim of the call happen under the account's row lock, so two
workers never both take the last slot.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import LIVE_STATUSES, Call, CallStatus, CarrierAccount

# How often a call waiting for a free concurrent slot looks again.
CONCURRENCY_POLL_SECONDS = 1.0
# Spreads the wake-ups of calls waiting behind others so they arrive in queue order.
ORDER_STEP_SECONDS = 0.01


@dataclass(frozen=True)
class Admission:
    claimed: bool
    wait: float = 0.0  # seconds until it is worth trying again; 0 when claimed or not ours


def interval(account):
    return 1.0 / account.calls_per_second if account.calls_per_second > 0 else 0.0


def admit(call, *, claim):
    """Let `call` leave now (then `claim()` takes it) or say how long it must wait."""
    with transaction.atomic():
        account = CarrierAccount.objects.select_for_update().get(pk=call.carrier_account_id)
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
