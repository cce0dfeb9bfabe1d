"""Logs: JSON lines in production (LOG_FORMAT=json), readable lines in development.

Every line, whether written with structlog or the standard library's logging (Django,
uvicorn, our modules), goes through structlog's ProcessorFormatter, which adds the time,
level, logger and whatever is bound in the context: the request id above all.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

from tenants import requestid

# What every line gets, structlog's or the standard library's.
SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def console_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ],
    )


def configure_structlog() -> None:
    structlog.configure(
        processors=[*SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


access = structlog.get_logger("callcenter.requests")


class RequestIdMiddleware:
    """Takes the request id from a valid X-Request-ID (or makes one), binds it for every log
    line and task of the request, answers it in X-Request-ID and logs one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = requestid.accept(request.headers.get(requestid.HEADER))
        started = time.perf_counter()
        with requestid.bound(rid):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            access.info(
                "request",
                method=request.method,
                path=request.path,
                route=match.route if match is not None else None,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        response[requestid.HEADER] = rid
        return response
