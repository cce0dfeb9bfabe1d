"""What the call center counts for Prometheus (prometheus-client).

The instruments live here, below everything that records into them; `callcenter/metrics.py`
serves them at /metrics with the figures read from the database at scrape time. Labels
are bounded sets (statuses, carrier kinds, webhook kinds, URL routes), never ids or numbers.

With PROMETHEUS_MULTIPROC_DIR set (before the process starts) every process writes its
values to files there and the endpoint adds them up, so one scrape of any web process sees
the web and worker processes of the machine.
"""

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "callcenter_calls_total", "Calls that reached a status, by status and carrier.", ["status", "carrier"]
)
PLACEMENT_SECONDS = Histogram(
    "callcenter_call_placement_seconds",
    "How long the carrier took to take a call (one placement request).",
    ["carrier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CARRIER_ERRORS = Counter(
    "callcenter_carrier_errors_total", "Placement requests a carrier refused or failed, by carrier.",
    ["carrier", "retryable"],
)
WEBHOOK_SECONDS = Histogram(
    "callcenter_webhook_delivery_seconds",
    "How long one webhook attempt took, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
WEBHOOK_FAILURES = Counter(
    "callcenter_webhook_failures_total", "Webhook attempts that failed (error, timeout or non-2xx), by kind.", ["kind"]
)
WEBHOOK_DEAD_LETTERS = Counter(
    "callcenter_webhook_dead_letters_total", "Webhooks that ran out of attempts (dead letters), by kind.", ["kind"]
)
WEBSOCKETS_OPEN = Gauge(
    "callcenter_websockets_open", "WebSockets open now, by page.", ["page"], multiprocess_mode="livesum"
)
REQUEST_SECONDS = Histogram(
    "callcenter_http_request_duration_seconds",
    "HTTP request latency by route, method and status class.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def call_count(sender: Any, *, call: Any, previous: str, **kwargs: Any) -> None:
    """Receiver of lifecycle.transitioned: one more call in its new status."""
    CALLS.labels(call.status, call.carrier).inc()
