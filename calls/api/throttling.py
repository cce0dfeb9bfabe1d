"""Per-organization rate limit on the endpoints that create calls.

A fixed window counted with the cache's atomic increment: exact across processes when
the cache is Redis (REDIS_URL), per process with the default in-memory cache.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from tenants.scoping import organization_of

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate):
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


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
    try:
        # One round trip in the common case: the window's counter already exists.
        try:
            count = cache.incr(key)
        except ValueError:
            count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
    except Exception:
        # The limit protects the service; with its cache (Redis) away, calls still go through.
        logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
        return True, wait
    return count <= limit, wait


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
