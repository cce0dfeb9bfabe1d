"""GET /metrics for Prometheus, and the request-latency middleware.

The endpoint exists only when METRICS_TOKEN is set (404 otherwise, as if there were no
such page) and wants `Authorization: Bearer <METRICS_TOKEN>`: none is 401, a wrong one 403.
Counters and histograms come from calls/metrics.py (summed over the machine's processes
when PROMETHEUS_MULTIPROC_DIR is set); the queue and live-call figures are read from the
database at scrape time, with a few aggregate queries over indexed columns.
"""

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from calls import jobs
from calls.metrics import REQUEST_SECONDS
from calls.models import LIVE_STATUSES, Call


class DatabaseCollector(Collector):
    """Figures that are state, not events: read when scraped, so every process agrees."""

    def collect(self) -> Iterator[Metric]:
        depth, age = jobs.queue_figures()
        yield GaugeMetricFamily("callcenter_task_queue_depth", "Tasks due to run now and not yet taken.", value=depth)
        yield GaugeMetricFamily(
            "callcenter_task_queue_oldest_seconds", "How long the oldest due task has waited.", value=age
        )
        live = GaugeMetricFamily("callcenter_calls_live", "Live calls now, by status and carrier.",
                                 labels=["status", "carrier"])
        rows = (Call.objects.filter(status__in=LIVE_STATUSES).values("status", "carrier")
                .annotate(n=Count("pk")).order_by())
        for row in rows:
            live.add_metric([row["status"], row["carrier"]], row["n"])
        yield live


def _events_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        return HttpResponse("Unauthorized", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if not hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    state = CollectorRegistry()
    state.register(DatabaseCollector())
    body = generate_latest(_events_registry()) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def process_exit() -> None:
    """In multiprocess mode, drop this process's live gauges (open sockets) from the sum."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())


class RequestMetricsMiddleware:
    """Observes each request's latency under its URL route (a bounded set), not its path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        REQUEST_SECONDS.labels(route or "/", request.method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response
