"""Idempotency-Key for the endpoints that create calls.

The key row is inserted in the same transaction as the call, so of two racing requests
with one key the second waits on the unique index until the first commits, then replays
its answer: one call, identical responses. Keys live for 24 hours per organization.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from calls.models import IdempotencyKey
from tenants.errors import ServiceError
from tenants.models import Organization

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Printable ASCII without spaces at the ends (HTTP trims them): what the OpenAPI schema states.
KEY_PATTERN = re.compile(r"[!-~]([ -~]*[!-~])?")


def _fingerprint(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def idempotent_create(
    request, *, organization: Organization, scope: str, produce: Callable[[], tuple[int, Any]]
) -> Response:
    """Answer a create request: `produce()` -> (status, body) once per Idempotency-Key.

    Without the header every request produces; with it, a retry replays the first answer
    (marked `Idempotent-Replayed: true`) and creates nothing.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = produce()
        return Response(body, status=status)
    status, body, replayed = idempotent_response(
        organization=organization, scope=scope, key=key, payload=request.data, produce=produce
    )
    return Response(body, status=status, headers={"Idempotent-Replayed": "true"} if replayed else None)


def idempotent_response(*, organization: Organization, scope: str, key: str, payload: Any,
                        produce: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
    """Return (status, body, replayed). `produce()` runs at most once per key and returns (status, body).

    A key reused with a different payload is refused with 422; an answer that `produce`
    raises as ServiceError is not kept, so the request may be retried with the same key.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.fullmatch(key):
        raise ServiceError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters", code="invalid_idempotency_key"
        )
    fingerprint = _fingerprint(payload)
    IdempotencyKey.objects.filter(
        organization=organization, scope=scope, key=key, created_at__lt=timezone.now() - KEY_LIFETIME
    ).delete()
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                organization=organization, scope=scope, key=key, request_hash=fingerprint,
                response_status=0, response_body="",
            )
            status, body = produce()
            record.response_status = status
            record.response_body = json.dumps(body)
            record.save(update_fields=["response_status", "response_body"])
            return status, body, False
    except IntegrityError:
        existing = IdempotencyKey.objects.filter(organization=organization, scope=scope, key=key).first()
        if existing is None:
            raise
        record = existing
    if record.request_hash != fingerprint:
        raise ServiceError(
            "Idempotency-Key was already used with a different request body", status=422, code="idempotency_conflict"
        )
    return record.response_status, json.loads(record.response_body), True


def expired_keys_delete() -> int:
    """Drop keys past their lifetime; the sweeper calls this."""
    cutoff = timezone.now() - KEY_LIFETIME
    stale = IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:1000]
    return IdempotencyKey.objects.filter(pk__in=list(stale)).delete()[0]
