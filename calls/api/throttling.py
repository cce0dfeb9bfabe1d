"""Per-organization rate limit on the endpoints that create calls.

A fixed window counted with the cache's atomic increment: exact across processes when
the cache is Redis (REDIS_URL), per process with the default in-memory cache.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(rate):
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


class CallCreateThrottle(BaseThrottle):
    scope = "call_create"

    def allow_request(self, request, view):
        organization_id = getattr(request.auth, "organization_id", None)
        if organization_id is None:
            return True
        limit, period = parse_rate(settings.CALL_CREATE_RATE)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{organization_id}:{window}"
        self._wait = (window + 1) * period - now
        try:
            # One round trip in the common case: the window's counter already exists.
            try:
                count = cache.incr(key)
            except ValueError:
                count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
        except Exception:
            # The limit protects the service; with its cache (Redis) away, calls still go through.
            logger.warning("rate-limit cache unavailable; letting the request through", exc_info=True)
            return True
        return count <= limit

    def wait(self):
        return self._wait
