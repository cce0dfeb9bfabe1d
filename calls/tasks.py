"""Background tasks (Django's tasks API). Each is small and safe to run twice."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from calls.models import Call, CallStatus, WebhookDelivery

logger = logging.getLogger(__name__)

# A queued call untouched this long lost its placement task; the sweeper sends it again.
STALE_QUEUED_SECONDS = 60


@task()
def place_call(call_id):
    from calls import carriers

    carriers.place(call_id)


@task()
def carrier_hangup(call_id):
    from calls import carriers

    carriers.hang_up(call_id)


@task()
def deliver_webhook(delivery_id):
    from calls import delivery

    delivery.deliver(delivery_id)


@task()
def resolve_answer(call_id):
    from calls import delivery

    delivery.resolve_answer(call_id)


@task()
def expire_deadline(call_id):
    from calls import lifecycle

    lifecycle.expire_if_due(call_id)


def sweep():
    """Catch what lost or late tasks left behind. Its cost follows live calls and pending rows only.

    - calls past their deadline (ring timeout, time limit) are ended,
    - pending webhook deliveries that are due and not held by a sender are sent,
    - queued calls whose placement never ran are placed again,
    - idempotency keys past their 24 hours are dropped.
    """
    from calls import delivery, idempotency, lifecycle

    now = timezone.now()
    for call_id in Call.objects.filter(deadline_at__lte=now).values_list("pk", flat=True)[:500]:
        lifecycle.expire_if_due(call_id)
    due = (
        WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(created_at__lte=now - timedelta(seconds=delivery.LEASE_MARGIN_SECONDS))
        .values_list("pk", "kind", "call_id")[:500]
    )
    for delivery_id, kind, call_id in due:
        if kind in (WebhookDelivery.Kind.ANSWER, WebhookDelivery.Kind.FALLBACK_ANSWER):
            resolve_answer.enqueue(call_id)
        else:
            deliver_webhook.enqueue(delivery_id)
    lost = now - timedelta(seconds=STALE_QUEUED_SECONDS)
    stale = (
        Call.objects.filter(status=CallStatus.QUEUED, carrier_call_id="", created_at__lte=lost)
        .filter(Q(place_after__isnull=True) | Q(place_after__lte=lost))
        .filter(Q(placing_until__isnull=True) | Q(placing_until__lt=now))
        .values_list("pk", flat=True)[:500]
    )
    for call_id in stale:
        place_call.enqueue(call_id)
    idempotency.expired_keys_delete()
