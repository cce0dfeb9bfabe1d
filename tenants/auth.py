"""X-API-Key: which organization a request acts for. Every API authenticates keys here."""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from tenants.models import OrganizationAPIKey

# last_used_at is a hint for admins, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_VERIFIED_MAX = 10_000

# Keys verified in this process lately, by a digest of the raw key: the check then costs
# microseconds instead of a query. A revoked key stops working within API_KEY_CACHE_SECONDS.
_verified: dict[bytes, tuple[float, OrganizationAPIKey]] = {}


def api_key_lookup(raw_key: str | None) -> OrganizationAPIKey | None:
    """The usable key behind `raw_key` (with its organization), or None."""
    if not raw_key or "." not in raw_key or len(raw_key) > 200:
        return None
    digest = hashlib.sha256(raw_key.encode()).digest()
    now = time.monotonic()
    cached = _verified.get(digest)
    if cached and cached[0] > now and not cached[1].has_expired:
        return cached[1]
    key = _lookup(raw_key)
    if key is not None and settings.API_KEY_CACHE_SECONDS > 0:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (now + settings.API_KEY_CACHE_SECONDS, key)
    return key


def api_key_forget(key: OrganizationAPIKey) -> None:
    """Drop a key from this process's cache at once (a revoke)."""
    for digest, (_, cached) in list(_verified.items()):
        if cached.pk == key.pk:
            _verified.pop(digest, None)


def _lookup(raw_key: str) -> OrganizationAPIKey | None:
    prefix = raw_key.partition(".")[0]
    key = (
        OrganizationAPIKey.objects.get_usable_keys()
        .select_related("organization")
        .filter(prefix=prefix)
        .first()
    )
    if key is None or not key.is_valid(raw_key) or key.has_expired:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        OrganizationAPIKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <prefix>.<secret>`: the request acts for the key's organization (`request.auth`).

    A missing key raises NotAuthenticated and a bad one AuthenticationFailed; each API's
    exception handler words them its own way. Where a session may stand in for the key
    (/api/v1), `optional` lets a request without the header go on to the next authenticator.
    """

    def __init__(self, *, optional: bool = False) -> None:
        self.optional = optional

    def authenticate(self, request):
        raw_key = request.headers.get("X-API-Key")
        if raw_key is None and self.optional:
            return None
        if not raw_key:
            raise exceptions.NotAuthenticated()
        key = api_key_lookup(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed()
        return (None, key)

    def authenticate_header(self, request):
        return "X-API-Key"
