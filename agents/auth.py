"""API keys: which organization a request acts for."""

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from agents.models import OrganizationAPIKey

# last_used_at is a hint for admins, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_VERIFIED_MAX = 10_000

# Keys verified in this process lately, by a digest of the raw key: the check then costs
# microseconds instead of a query. A revoked key stops working within API_KEY_CACHE_SECONDS.
_verified = {}


def api_key_lookup(raw_key):
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


def api_key_forget(key):
    """Drop a key from this process's cache at once (the admin's revoke)."""
    for digest, (_, cached) in list(_verified.items()):
        if cached.pk == key.pk:
            _verified.pop(digest, None)


def _lookup(raw_key):
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


def organization_api_key_create(*, organization, name):
    """Create a key and return (key object, the raw key). The raw key is never stored."""
    return OrganizationAPIKey.objects.create_key(organization=organization, name=name)
