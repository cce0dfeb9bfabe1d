"""Per-organization rate limit on the endpoints that create calls.

A fixed window counted with the cache's atomic increment: exact across processes when
the cache is Redis (REDIS_URL), per process with the default in-memory cache.

To spare most requests the round trip to the cache, a process takes permits from the
shared counter in batches and spends them locally: the first batch of a window is one
permit, and each next one twice the last, up to 1/LEASE_SHARE of the limit. A process
therefore never lets more calls through than the shared counter granted it (the limit is
never exceeded), but permits it took and did not use by the end of the window are lost to
the others, at most 1/LEASE_SHARE of the limit per busy process. Limits under LEASE_SHARE
per window are counted one request at a time, exactly as before. Once a window's counter
is spent, later requests in that window are refused without asking the cache again.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from tenants.scoping import organization_of

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600}
LEASE_SHARE = 20


def parse_rate(rate):
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


@dataclass
class _Lease:
    window: int
    left: int = 0  # permits taken from the shared counter and not yet spent
    batch: int = 0  # the size of the last batch taken in this window
    spent: bool = False  # the shared counter has nothing left in this window


_leases: dict[tuple, _Lease] = {}
_leases_lock = threading.Lock()


def forget_leases() -> None:
    """Drop this process's permits (tests that clear the cache start afresh)."""
    with _leases_lock:
        _leases.clear()


def _take(key: str, count: int, period: int) -> int:
    """Add `count` to the window's shared counter and return its new value."""
    backend = caches["default"]  # `cache` is a proxy to it
    if isinstance(backend, RedisCache):
        # INCRBY and a first expiry in one pipelined round trip (Django's incr asks EXISTS first).
        full_key = backend.make_and_validate_key(key)
        pipe = backend._cache.get_client(full_key, write=True).pipeline(transaction=False)
        pipe.incrby(full_key, count)
        pipe.expire(full_key, period + 1, nx=True)
        return int(pipe.execute()[0])
    try:
        return cache.incr(key, count)
    except ValueError:
        return count if cache.add(key, count, timeout=period + 1) else cache.incr(key, count)


def call_create_allowed(organization_id: int, scope: str = "call_create") -> tuple[bool, float]:
    """Count one call creation for the organization: (allowed, seconds until the window resets).

    Every call-creating door counts here: SFVoPI, click-to-call and /api/v1 (API key or a
    member's session), and the console's Start.
    """
    limit, period = parse_rate(settings.CALL_CREATE_RATE)
    now = time.time()
    window = int(now // period)
    key = f"throttle:{scope}:{organization_id}:{window}"
    wait = (window + 1) * period - now
    lease_key = (scope, organization_id, limit, period)
    with _leases_lock:
        lease = _leases.get(lease_key)
        if lease is None or lease.window != window:
            lease = _leases[lease_key] = _Lease(window)
        if lease.left > 0:
            lease.left -= 1
            return True, wait
        if lease.spent:
            return False, wait
        batch = min(max(lease.batch * 2, 1), max(limit // LEASE_SHARE, 1))
        lease.batch = batch
    try:
        count = _take(key, batch, period)
    except Exception:
        # The limit protects the service; with its cache (Redis) away, calls still go through.
        logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
        return True, wait
    granted = max(0, min(batch, limit - (count - batch)))
    with _leases_lock:
        if granted < batch:
            lease.spent = True
        if granted:
            lease.left += granted - 1
    return granted > 0, wait


class CallCreateThrottle(BaseThrottle):
    scope = "call_create"

    def allow_request(self, request, view):
        organization_id = getattr(request.auth, "organization_id", None)
        if organization_id is None and request.user is not None and request.user.is_authenticated:
            organization = organization_of(request.user)
            organization_id = organization.pk if organization is not None else None
        if organization_id is None:
            return True  # nobody to count against; authentication refuses the request
        allowed, self._wait = call_create_allowed(organization_id, self.scope)
        return allowed

    def wait(self):
        return self._wait
