"""Per-organization rate limit on the endpoints that create calls.

A fixed window counted with the cache's atomic increment: exact across processes when
the cache is Redis (REDIS_URL), per process with the default in-memory cache.
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

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
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            count = 1
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self):
        return self._wait
