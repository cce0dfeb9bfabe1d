"""The request id: one id per incoming request, carried into the tasks it queues, the
webhooks those send and every log line on the way.

It lives in structlog's context variables, so every log line (structlog's or the standard
library's, through callcenter/logs.py) carries it as `request_id`. The web side binds it
per request (callcenter.logs.RequestIdMiddleware), the task queue stores it with each task
(calls.jobs.job) and binds it again in the worker; outgoing webhooks send it as X-Request-ID.
"""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from structlog.contextvars import bind_contextvars, get_contextvars, reset_contextvars

HEADER = "X-Request-ID"
# What a proxy or client may hand us: printable, no spaces or separators that could break a
# log line or a header (UUIDs, hex, ULIDs, "Root=1-5f84c7a9-..." trace ids).
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")


def new() -> str:
    return uuid.uuid4().hex


def accept(incoming: str | None) -> str:
    """The caller's id when it is a sensible one, else a fresh one."""
    if incoming and _VALID.fullmatch(incoming):
        return incoming
    return new()


def current() -> str | None:
    value = get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Bind `request_id` for the duration (nothing when None), restoring what was there."""
    if request_id is None:
        yield
        return
    tokens = bind_contextvars(request_id=request_id)
    try:
        yield
    finally:
        reset_contextvars(**tokens)
