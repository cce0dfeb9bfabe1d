"""Desk webhooks for CRMs: call.dispositioned and agent.state_changed, signed like call webhooks.

An app opts in with a DeskWebhook row (its URL and which events it wants). Rows of the
outbox (DeskWebhookDelivery) are written in the transaction of the change they report,
with the background task that sends each through calls.delivery.signed_send (Standard
Webhooks signature with the app's webhook secret, the address checked and pinned, no
redirects), retried with backoff a few times.
"""

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from agents.models import DeskWebhook, DeskWebhookDelivery
from calls import jobs
from calls.delivery import LEASE_MARGIN_SECONDS, signed_send
from calls.jobs import job

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 5
EVENT_FLAGS = {"call.dispositioned": "dispositions", "agent.state_changed": "agent_states"}


def desk_event_write(*, organization_id: int, event: str, data: dict[str, Any]) -> list[DeskWebhookDelivery]:
    """Write one delivery, with its sending task, per app of the organization that opted in to `event`."""
    flag = EVENT_FLAGS[event]
    rows = []
    for subscription in DeskWebhook.objects.filter(organization_id=organization_id, **{flag: True}):
        webhook_id = f"msg_{secrets.token_hex(12)}"
        delivery = DeskWebhookDelivery.objects.create(
            organization_id=organization_id,
            subscription=subscription,
            event=event,
            webhook_id=webhook_id,
            payload={"type": event, "timestamp": timezone.now().isoformat(), "data": data},
        )
        deliver_desk_webhook.enqueue(delivery.pk)
        rows.append(delivery)
    return rows


@job(priority=jobs.WEBHOOK)
def deliver_desk_webhook(delivery_id: int) -> None:
    desk_webhook_send(delivery_id=delivery_id)


def desk_webhook_send(*, delivery_id: int) -> DeskWebhookDelivery | None:
    """One attempt at a pending delivery; schedules the next attempt when it fails.

    The row is leased for the attempt rather than locked across it, so no database
    connection waits on the customer's server.
    """
    now = timezone.now()
    lease = timedelta(seconds=TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    claimed = (
        DeskWebhookDelivery.objects.filter(pk=delivery_id, state=DeskWebhookDelivery.State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    delivery = DeskWebhookDelivery.objects.select_related("subscription__app").get(pk=delivery_id)
    code, _, error = signed_send(
        method="POST", url=delivery.subscription.url, payload=delivery.payload, webhook_id=delivery.webhook_id,
        secrets=[delivery.subscription.app.webhook_secret], timeout=TIMEOUT_SECONDS,
    )
    if not error and not 200 <= (code or 0) < 300:
        error = f"HTTP {code}"
    now = timezone.now()
    delivery.response_code = code
    delivery.error = error
    delivery.next_attempt_at = None
    if not error:
        delivery.state = DeskWebhookDelivery.State.DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = DeskWebhookDelivery.State.FAILED
    else:
        delivery.next_attempt_at = now + timedelta(seconds=5 * 2 ** (delivery.attempts - 1))
        deliver_desk_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery_id)
    delivery.save(update_fields=["response_code", "error", "next_attempt_at", "state", "delivered_at"])
    return delivery
