"""The sweeper: a periodic pass that catches what lost or late tasks left behind.

Its cost follows live calls and pending rows only, never the calls table's size.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from calls import delivery, idempotency, lifecycle, placement
from calls.models import Call, CallStatus, WebhookDelivery

# A queued call untouched this long lost its placement task; the sweeper sends it again.
STALE_QUEUED_SECONDS = 60
BATCH = 500


def sweep() -> None:
    """- calls past their deadline (ring timeout, time limit) are ended,
    - pending webhook deliveries that are due and not held by a sender are sent,
    - queued calls whose placement never ran are placed again,
    - idempotency keys past their 24 hours are dropped.
    """
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
    for delivery_id, kind, call_id in due:
        if kind in (WebhookDelivery.Kind.ANSWER, WebhookDelivery.Kind.FALLBACK_ANSWER):
            delivery.resolve_answer_task.enqueue(call_id)
        else:
            delivery.deliver_webhook.enqueue(delivery_id)
    lost = now - timedelta(seconds=STALE_QUEUED_SECONDS)
    stale = (
        Call.objects.filter(status=CallStatus.QUEUED, carrier_call_id="", created_at__lte=lost)
        .filter(Q(place_after__isnull=True) | Q(place_after__lte=lost))
        .filter(Q(placing_until__isnull=True) | Q(placing_until__lt=now))
        .values_list("pk", flat=True)[:BATCH]
    )
    for call_id in stale:
        placement.place_call.enqueue(call_id)
    idempotency.expired_keys_delete()
