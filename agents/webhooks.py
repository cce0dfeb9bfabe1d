"""Desk webhooks for CRMs: call.dispositioned and agent.state_changed, signed like call webhooks.

An app opts in with a DeskWebhook row (its URL and which events it wants). Rows of the
outbox (DeskWebhookDelivery) are written in the transaction of the change they report and
sent by a background task once it commits, signed with the app's webhook secret by
calls.delivery.sign (Standard Webhooks), retried with backoff a few times.
"""

import json
import logging
import secrets
import time
from datetime import timedelta
from functools import partial
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from agents.models import DeskWebhook, DeskWebhookDelivery
from calls import urlguard
from calls.delivery import sign

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
TIMEOUT_SECONDS = 5
EVENT_FLAGS = {"call.dispositioned": "dispositions", "agent.state_changed": "agent_states"}


def desk_event_write(*, organization_id: int, event: str, data: dict[str, Any]) -> list[DeskWebhookDelivery]:
    """Write one delivery per app of the organization that opted in to `event`; send each on commit."""
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
        transaction.on_commit(partial(deliver_desk_webhook.enqueue, delivery.pk))
        rows.append(delivery)
    return rows


@task()
def deliver_desk_webhook(delivery_id: int) -> None:
    desk_webhook_send(delivery_id=delivery_id)


def desk_webhook_send(*, delivery_id: int) -> DeskWebhookDelivery | None:
    """One attempt at a pending delivery; schedules the next attempt when it fails."""
    with transaction.atomic():
        delivery = (
            DeskWebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription__app")
            .filter(pk=delivery_id, state=DeskWebhookDelivery.State.PENDING)
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        code, error = _post(delivery)
        now = timezone.now()
        delivery.response_code = code
        delivery.error = error
        if not error:
            delivery.state = DeskWebhookDelivery.State.DELIVERED
            delivery.delivered_at = now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = DeskWebhookDelivery.State.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=5 * 2 ** (delivery.attempts - 1))
            run_after = delivery.next_attempt_at
            transaction.on_commit(lambda: deliver_desk_webhook.using(run_after=run_after).enqueue(delivery_id))
        delivery.save()
    return delivery


def _post(delivery: DeskWebhookDelivery) -> tuple[int | None, str]:
    url = delivery.subscription.url
    try:
        urlguard.resolve_public_addresses(url)
    except urlguard.UnsafeURL as exc:
        return None, f"refused: {exc}"
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(delivery.subscription.app.webhook_secret, delivery.webhook_id, timestamp, body),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=(3.05, TIMEOUT_SECONDS),
                                 allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:2000]
    if not 200 <= response.status_code < 300:
        return response.status_code, f"HTTP {response.status_code}"
    return response.status_code, ""
