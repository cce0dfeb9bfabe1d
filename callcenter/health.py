"""Liveness and readiness for load balancers and orchestrators.

GET /healthz: the process answers (200 {"status": "ok"}), nothing else is checked.
GET /readyz: the parts a request or a call needs: the database, the channel layer (Redis
when configured), the task queue (its oldest ready task waits less than
READY_QUEUE_LAG_SECONDS) and a worker heartbeat seen within the workers' silence limit.
200 {"status": "ok"}, or 503 {"status": "unavailable", "failing": [...]} naming only the
failing parts: no versions, hosts or error text.

Both are answered by a middleware at the top of the stack, before sessions, host checks,
HTTPS redirects, authentication, CSP and rate limits: a probe polls them every second
from an address no Host header names, and each costs a few indexed queries at most.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from callcenter import metrics
from calls import jobs
from calls.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        # Short timeouts: a probe must answer within its own deadline whatever Redis does.
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=0
        )
    return _redis_client


def check_database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def check_channel_layer() -> bool:
    if not settings.REDIS_URL:
        return True  # the in-memory layer lives in this process
    return bool(_redis().ping())


def check_task_queue() -> bool:
    return jobs.queue_figures()[1] <= settings.READY_QUEUE_LAG_SECONDS


def check_workers() -> bool:
    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - jobs.WORKER_SILENCE).exists()


# Checked in order; the ones after the database are skipped while it is down (they read it).
CHECKS: list[tuple[str, Callable[[], bool], bool]] = [
    ("database", check_database, False),
    ("channel_layer", check_channel_layer, True),
    ("task_queue", check_task_queue, False),
    ("workers", check_workers, False),
]


def failing_parts() -> list[str]:
    failing: list[str] = []
    for name, check, independent in CHECKS:
        if "database" in failing and not independent:
            continue
        try:
            healthy = check()
        except Exception as exc:  # any failure of a part means "not ready", never a 500
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            healthy = False
        if not healthy:
            failing.append(name)
    return failing


_NO_STORE = {"Cache-Control": "no-store"}


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"}, headers=_NO_STORE)


def readyz(request: HttpRequest) -> HttpResponse:
    failing = failing_parts()
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503, headers=_NO_STORE)
    return JsonResponse({"status": "ok"}, headers=_NO_STORE)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz, "/readyz": readyz, "/metrics": metrics.metrics_view,
}


class HealthMiddleware:
    """Answers the probes and /metrics first, before any other middleware sees the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


