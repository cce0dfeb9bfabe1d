"""Outgoing customer webhooks: the outbox, payloads, signing, sending and retries.

Rows are written by the lifecycle in the same transaction as the status change that
causes them, so a webhook is never lost and never written twice. Sending happens in
background tasks: a sender first claims the row for a lease (so two workers never send
it at once, and a sender that dies mid-send is retried once the lease runs out).
"""

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from calls import jobs, lifecycle, metrics, streams, urlguard
from calls.jobs import job
from calls.models import FINAL_STATUSES, Call, CallStatus, WebhookDelivery
from calls.representations import iso
from tenants import requestid

logger = logging.getLogger(__name__)

# Superfone gives ring and hangup 5 s and the answer webhook 10 s.
TIMEOUTS: dict[str, int] = {
    WebhookDelivery.Kind.RING: 5,
    WebhookDelivery.Kind.HANGUP: 5,
    WebhookDelivery.Kind.ANSWER: 10,
    WebhookDelivery.Kind.FALLBACK_ANSWER: 10,
    WebhookDelivery.Kind.RECORDING_READY: 10,
}
# Attempts of ring and hangup webhooks when the app opts in to retries.
RETRY_ATTEMPTS = 6
RETRY_BASE_SECONDS = 5
LEASE_MARGIN_SECONDS = 10
# The answer webhook and its fallback, each with its timeout, plus a margin.
ANSWER_BUDGET = timedelta(seconds=2 * TIMEOUTS[WebhookDelivery.Kind.ANSWER] + LEASE_MARGIN_SECONDS)
RESPONSE_KEEP_CHARS = 2000
SECRET_ROTATION_OVERLAP = timedelta(hours=24)


# Connections go to the address the URL guard checked (calls.urlguard.pinned_send).
_session = urlguard.pinned_session("callcenter-webhooks/1.0")


def _base_payload(call):
    return {
        "call_uuid": call.call_uuid,
        "request_uuid": call.request_uuid,
        "from": call.from_number,
        "to": call.to_number,
        "direction": call.direction,
    }


def ring_payload(call):
    return {**_base_payload(call), "call_status": "RINGING", "started_at": iso(call.started_at)}


def answer_payload(call):
    return {**_base_payload(call), "call_status": "IN_PROGRESS", "answered_at": iso(call.answered_at)}


def hangup_payload(call):
    payload = {
        **_base_payload(call),
        "call_status": call.status.upper(),
        "duration": call.duration,
        "started_at": iso(call.started_at or call.created_at),
        "ended_at": iso(call.ended_at),
        "hangup_cause": call.hangup_cause,
    }
    if call.answered_at:
        payload["answer_at"] = iso(call.answered_at)
    return payload


@job(priority=jobs.WEBHOOK)
def deliver_webhook(delivery_id: int) -> None:
    deliver(delivery_id)


@job(priority=jobs.ANSWER)
def resolve_answer_task(call_id: int) -> None:
    resolve_answer(call_id)


def outbox_write(sender, *, call: Call, previous: str, answer_inline: bool = False, **kwargs) -> None:
    """Write the webhooks that the move from `previous` to `call.status` owes the customer.

    Receiver of lifecycle.transitioned, inside its transaction. The (call, kind) unique
    constraint makes each webhook exist at most once, whatever order reports arrive in.
    """
    rows = []
    if call.status == CallStatus.RINGING and call.ring_url:
        rows.append((WebhookDelivery.Kind.RING, call.ring_url, call.ring_method, ring_payload(call)))
    if call.status == CallStatus.ANSWERED and call.answer_url:
        rows.append((WebhookDelivery.Kind.ANSWER, call.answer_url, call.answer_method, answer_payload(call)))
    if call.status in FINAL_STATUSES and call.hangup_url:
        rows.append((WebhookDelivery.Kind.HANGUP, call.hangup_url, call.hangup_method, hangup_payload(call)))
    for kind, url, method, payload in rows:
        try:
            # Insert straight away: the row exists already only if a report was replayed.
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    call=call,
                    kind=kind,
                    organization_id=call.organization_id,
                    url=url,
                    method=method,
                    payload=payload,
                    max_attempts=_max_attempts(call, kind),
                )
        except IntegrityError:
            continue
        if kind == WebhookDelivery.Kind.ANSWER:
            # Asked in the carrier's own request when `answer_inline`; the worker then only
            # steps in once that request's budget (answer, then fallback) has run out.
            answer_resolve_enqueue(call.pk, delay=ANSWER_BUDGET if answer_inline else None)
        else:
            deliver_webhook.enqueue(delivery.pk)


def recording_ready_payload(recording) -> dict:
    call = recording.call
    return {
        **_base_payload(call),
        "call_uuid": str(call.call_uuid),  # a UUID object on a row not read back yet
        "event": "recording_ready",
        "recording_id": recording.pk,
        "duration": recording.duration,
        "format": recording.format,
        "size": recording.size,
        "created_at": iso(recording.created_at),
        # Our own address of the file (API key required), never the carrier's.
        "recording_url": f"{settings.PUBLIC_BASE_URL}/api/v1/recordings/{recording.pk}/audio",
    }


def recording_ready_write(recording) -> WebhookDelivery | None:
    """Owe the customer a `recording_ready` webhook (to the call's hangup URL), inside the
    transaction that stored the recording, with its sending task."""
    call = recording.call
    if not call.hangup_url:
        return None
    kind = WebhookDelivery.Kind.RECORDING_READY
    try:
        with transaction.atomic():
            row = WebhookDelivery.objects.create(
                call=call, kind=kind, organization_id=call.organization_id, url=call.hangup_url,
                method=call.hangup_method, payload=recording_ready_payload(recording),
                max_attempts=RETRY_ATTEMPTS if call.app and call.app.retry_webhooks else 1,
            )
    except IntegrityError:
        return None
    deliver_webhook.enqueue(row.pk)
    return row


def answer_resolve_enqueue(call_id: int, *, delay: timedelta | None = None) -> None:
    """Have the worker ask the customer's answer webhook; the task commits with the transaction."""
    run_after = timezone.now() + delay if delay else None
    resolve_answer_task.using(run_after=run_after).enqueue(call_id)


def _max_attempts(call, kind):
    if kind in (WebhookDelivery.Kind.RING, WebhookDelivery.Kind.HANGUP) and call.app and call.app.retry_webhooks:
        return RETRY_ATTEMPTS
    return 1


def sign(secret, webhook_id, timestamp, body):
    """Standard Webhooks signature: v1,base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _signing_secrets(app):
    if app is None:
        return []
    secrets = [app.webhook_secret]
    rotated = app.webhook_secret_rotated_at
    if app.previous_webhook_secret and rotated and timezone.now() - rotated < SECRET_ROTATION_OVERLAP:
        secrets.append(app.previous_webhook_secret)
    return secrets


def _claim(delivery_id):
    """Take the row for one attempt. Returns False if it is done, not due, or someone else holds it."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.only("kind").get(pk=delivery_id)
    lease = timedelta(seconds=TIMEOUTS[delivery.kind] + LEASE_MARGIN_SECONDS)
    return (
        WebhookDelivery.objects.filter(pk=delivery_id, state=WebhookDelivery.State.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(locked_until=now + lease, attempts=F("attempts") + 1)
        == 1
    )


def _send(delivery):
    """One HTTP attempt of a call webhook. Returns (status code or None, body text, error text)."""
    return signed_send(
        method=delivery.method, url=delivery.url, payload=delivery.payload, webhook_id=delivery.webhook_id,
        secrets=_signing_secrets(delivery.call.app), timeout=TIMEOUTS[delivery.kind],
    )


def signed_send(*, method: str, url: str, payload: dict, webhook_id: str, secrets: list[str],
                timeout: float) -> tuple[int | None, str, str]:
    """Send one Standard Webhooks request to the address `url` resolved to and was checked at
    (pinned, no redirects). Returns (status code or None, body text, error text).

    The signature covers what the receiver gets: the JSON body of a POST; for a GET, the
    query string exactly as sent (our parameters sorted by name and form-encoded, after
    any query the URL already had).
    """
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"webhook-id": webhook_id, "webhook-timestamp": timestamp}
    rid = requestid.current()
    if rid is not None:
        # The id of the request that caused this webhook, so the customer can quote it.
        headers[requestid.HEADER] = rid
    target = url
    data = None
    if method == "GET":
        query = urlencode(sorted((k, v) for k, v in payload.items() if v is not None))
        target = f"{url}{'&' if urlsplit(url).query else '?'}{query}" if query else url
    else:
        headers["Content-Type"] = "application/json"
        data = body
    try:
        prepared = _session.prepare_request(requests.Request(method, target, headers=headers, data=data))
        signed = urlsplit(str(prepared.url)).query.encode() if method == "GET" else body
        if secrets:
            prepared.headers["webhook-signature"] = " ".join(
                sign(secret, webhook_id, timestamp, signed) for secret in secrets
            )
        # The connection goes to the pinned address; the request still names the host.
        prepared.headers["Host"] = urlsplit(url).netloc
        response = urlguard.pinned_send(_session, prepared, timeout=(3.05, timeout))
    except urlguard.UnsafeURL as exc:
        return None, "", f"refused: {exc}"
    except (requests.RequestException, ValueError) as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:RESPONSE_KEEP_CHARS]
    return response.status_code, response.text[:RESPONSE_KEEP_CHARS], ""


def _backoff(attempt):
    # Exponential with full jitter: 5 s, 10 s, 20 s ... capped at 10 minutes.
    ceiling = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), 600)
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def deliver(delivery_id, *, accept=None):
    """Send one pending delivery once. `accept(body)` may reject a 2xx body by raising ValueError.

    Returns the delivery after the attempt, or None when no attempt was made.
    """
    if not _claim(delivery_id):
        return None
    delivery = WebhookDelivery.objects.select_related("call__app").get(pk=delivery_id)
    started = time.monotonic()
    code, text, error = _send(delivery)
    elapsed = time.monotonic() - started
    if not error and not 200 <= code < 300:
        error = f"HTTP {code}"
    if not error and accept is not None:
        try:
            accept(text)
        except ValueError as exc:
            error = str(exc)

    now = timezone.now()
    delivery.response_code = code
    delivery.response_body = text
    delivery.error = error
    delivery.locked_until = None
    if not error:
        delivery.state = WebhookDelivery.State.DELIVERED
        delivery.delivered_at = now
    elif delivery.attempts < delivery.max_attempts:
        delivery.next_attempt_at = now + _backoff(delivery.attempts)
    else:
        delivery.state = WebhookDelivery.State.FAILED
    delivery.save(
        update_fields=["response_code", "response_body", "error", "locked_until", "state", "delivered_at",
                       "next_attempt_at"]
    )
    if delivery.state == WebhookDelivery.State.PENDING:
        deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)
    metrics.WEBHOOK_SECONDS.labels(delivery.kind, "failed" if error else "delivered").observe(elapsed)
    if error:
        metrics.WEBHOOK_FAILURES.labels(delivery.kind).inc()
    if delivery.state == WebhookDelivery.State.FAILED:
        metrics.WEBHOOK_DEAD_LETTERS.labels(delivery.kind).inc()
    if error:
        logger.info("webhook %s to %s failed (attempt %s): %s", delivery.kind, delivery.url, delivery.attempts, error)
    else:
        logger.info("webhook %s of call %s delivered (HTTP %s, %.0f ms)", delivery.kind, delivery.call_id, code,
                    elapsed * 1000)
    return delivery


def redeliver(delivery):
    """Give a failed (dead-letter) delivery one more attempt, keeping its webhook-id."""
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, state=WebhookDelivery.State.FAILED).update(
        state=WebhookDelivery.State.PENDING,
        max_attempts=F("attempts") + 1,
        next_attempt_at=None,
        locked_until=None,
    )
    if updated:
        deliver_webhook.enqueue(delivery.pk)
    return bool(updated)


def resolve_answer(call_id):
    """Ask the customer's answer URL, then the fallback, for Stream JSON; move the call on.

    Returns the accepted Stream JSON, or None when the call failed or is already past this
    point. Safe to run twice: a delivered or failed row is not sent again.
    """
    call = Call.objects.select_related("app").get(pk=call_id)
    if call.status != CallStatus.ANSWERED:
        # Ended before the customer's answer was settled (a hang-up, a deadline, an attempt
        # cut off by a dead worker): nothing to ask any more, and nothing left for the sweeper.
        WebhookDelivery.objects.filter(
            call=call, kind__in=(WebhookDelivery.Kind.ANSWER, WebhookDelivery.Kind.FALLBACK_ANSWER),
            state=WebhookDelivery.State.PENDING,
        ).filter(Q(locked_until__isnull=True) | Q(locked_until__lt=timezone.now())).update(
            state=WebhookDelivery.State.CANCELED, error="The call ended before its answer webhook was settled."
        )
        return call.stream
    answer = WebhookDelivery.objects.filter(call=call, kind=WebhookDelivery.Kind.ANSWER).first()
    if answer is None:
        return None
    accepted = {}

    def accept(body):
        accepted["stream"] = streams.parse_stream(body)

    attempt = deliver(answer.pk, accept=accept) if answer.state == WebhookDelivery.State.PENDING else answer
    if attempt is None:
        return None  # another worker holds it
    if attempt.state == WebhookDelivery.State.FAILED and call.fallback_answer_url:
        fallback, _ = WebhookDelivery.objects.get_or_create(
            call=call,
            kind=WebhookDelivery.Kind.FALLBACK_ANSWER,
            defaults={
                "organization_id": call.organization_id,
                "url": call.fallback_answer_url,
                "method": call.fallback_answer_method,
                "payload": answer.payload,
            },
        )
        attempt = deliver(fallback.pk, accept=accept) if fallback.state == WebhookDelivery.State.PENDING else fallback
        if attempt is None:
            return None
    if "stream" not in accepted and attempt.state == WebhookDelivery.State.DELIVERED:
        # Run again after the customer answered but before the call moved on (a killed
        # worker, a lost database connection): the stored answer is the customer's word.
        try:
            accept(attempt.response_body)
        except ValueError:
            lifecycle.end(call.pk, source="answer_webhook", reason="answer_failed")
            return None
    if "stream" in accepted:
        lifecycle.transition(call.pk, CallStatus.IN_PROGRESS, source="answer_webhook", stream=accepted["stream"])
        return accepted["stream"]
    if attempt.state == WebhookDelivery.State.FAILED:
        lifecycle.end(call.pk, source="answer_webhook", reason="answer_failed")
    return None
