"""The sweeper: a periodic pass that catches what lost or late tasks left behind.

Its cost follows live calls and pending rows only, never the calls table's size.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from calls import delivery, idempotency, jobs, lifecycle, placement
from calls.models import Call, CallStatus, WebhookDelivery

# A queued call untouched this long lost its placement task; the sweeper sends it again.
STALE_QUEUED_SECONDS = 60
BATCH = 500
ANSWER_KINDS = (WebhookDelivery.Kind.ANSWER, WebhookDelivery.Kind.FALLBACK_ANSWER)


def sweep() -> None:
    """- tasks whose worker died are made ready again (after their lease),
    - calls past their deadline (queued too long, ring timeout, time limit) are ended,
    - pending webhook deliveries that are due and not held by a sender are sent,
    - answered calls whose answer was settled but never acted on are resolved again,
    - queued calls whose placement never ran are placed again,
    - idempotency keys past their 24 hours are dropped.

    Work that is already waiting in the task queue is never queued again.
    """
    jobs.stale_tasks_recover()
    now = timezone.now()
    for call_id in Call.objects.filter(deadline_at__lte=now).values_list("pk", flat=True)[:BATCH]:
        lifecycle.expire_if_due(call_id)
    due = (
        WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(created_at__lte=now - timedelta(seconds=delivery.LEASE_MARGIN_SECONDS))
        .values_list("pk", "kind", "call_id")[:BATCH]
    )
    answers = [call_id for _, kind, call_id in due if kind in ANSWER_KINDS]
    # Answered past the answer's whole budget and still not moved on: its resolution was
    # lost after the customer was asked (the answer row is no longer pending).
    answers += Call.objects.filter(
        status=CallStatus.ANSWERED, answered_at__lte=now - delivery.ANSWER_BUDGET
    ).values_list("pk", flat=True)[:BATCH]
    others = [delivery_id for delivery_id, kind, _ in due if kind not in ANSWER_KINDS]
    _enqueue_missing(delivery.resolve_answer_task, answers)
    _enqueue_missing(delivery.deliver_webhook, others)
    lost = now - timedelta(seconds=STALE_QUEUED_SECONDS)
    stale = (
        Call.objects.filter(status=CallStatus.QUEUED, carrier_call_id="", created_at__lte=lost)
        .filter(Q(place_after__isnull=True) | Q(place_after__lte=lost))
        .filter(Q(placing_until__isnull=True) | Q(placing_until__lt=now))
        .values_list("pk", flat=True)[:BATCH]
    )
    _enqueue_missing(placement.place_call, list(stale))
    idempotency.expired_keys_delete()


def _enqueue_missing(the_task, ids: list[int]) -> None:
    waiting = jobs.queued_ids(the_task, ids)
    for pk in dict.fromkeys(ids):
        if pk not in waiting:
            the_task.enqueue(pk)
