"""Refusals and how each API writes them.

Services raise `ServiceError` (a status, a message for people and a stable code for
programs). Each API has its own error envelope, produced by one exception handler here:

- SFVoPI (`/superfone/sfvopi/`): `{"message": ...}`, with `errors` on validation failures;
- click-to-call (`/superfone/api/customer/click-2-call`): `{"message": ...}`;
- /api/v1: `{"error": {"code", "message", "details"}}`.
"""

import logging
import math

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A refusal the caller can act on: an HTTP status, a message and a stable code."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def retry_after(wait: float | None) -> str:
    """A Retry-After header value: whole seconds, at least one."""
    return str(max(math.ceil(wait or 1), 1))


def _retry_after_header(exc: exceptions.Throttled) -> dict[str, str]:
    wait = exc.wait  # type: ignore[attr-defined]  # DRF sets it; its stubs leave it out
    return {"Retry-After": retry_after(wait)}


AUTH_HEADERS = {"WWW-Authenticate": "X-API-Key"}
TOO_MANY = "Too many requests, retry later"
# The database is away or every pooled connection is taken: nothing was done, try again.
UNAVAILABLE = "Service busy, retry shortly"
UNAVAILABLE_HEADERS = {"Retry-After": "1"}


def database_unavailable(exc: BaseException) -> bool:
    """True for a database that is down, restarting or out of pooled connections."""
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and "couldn't get a connection" in str(exc)
    )


# SFVoPI (Superfone's messages: docs/providers.md, "Superfone SFVoPI")

SFVOPI_MISSING_KEY = "UnAuthorized, Please Provide API Key"
SFVOPI_INVALID_KEY = "UnAuthorized, Please Provide Valid API Key"
SFVOPI_INVALID_BODY = "Invalid request body"


def sfvopi_exception_handler(exc, context):
    view = context.get("view")
    if isinstance(exc, ServiceError):
        return Response({"message": exc.message}, status=exc.status)
    if isinstance(exc, (exceptions.ValidationError, exceptions.ParseError)):
        errors = exc.detail if isinstance(exc, exceptions.ValidationError) else {"body": [str(exc.detail)]}
        return Response({"message": SFVOPI_INVALID_BODY, "errors": errors}, status=400)
    if isinstance(exc, Http404):
        return Response({"message": getattr(view, "not_found_message", "Not found")}, status=404)
    if isinstance(exc, exceptions.Throttled):
        return Response({"message": TOO_MANY}, status=429, headers=_retry_after_header(exc))
    if isinstance(exc, exceptions.NotAuthenticated):
        return Response({"message": SFVOPI_MISSING_KEY}, status=401, headers=AUTH_HEADERS)
    if isinstance(exc, exceptions.AuthenticationFailed):
        return Response({"message": SFVOPI_INVALID_KEY}, status=401, headers=AUTH_HEADERS)
    if isinstance(exc, exceptions.APIException):
        return Response({"message": str(exc.detail)}, status=exc.status_code)
    if database_unavailable(exc):
        logger.warning("database unavailable in %s: %s", type(view).__name__, exc)
        return Response({"message": UNAVAILABLE}, status=503, headers=UNAVAILABLE_HEADERS)
    logger.exception("unexpected error in %s", type(view).__name__)
    failure = getattr(view, "failure_message", "Internal server error")
    return Response({"message": f"{failure}: {type(exc).__name__}"}, status=500)


# Click-to-call (docs/providers.md, "Superfone click-to-call")

CLICK_TO_CALL_UNAUTHORIZED = "Unauthorized"
CLICK_TO_CALL_INVALID_REQUEST = "Invalid request"


class InvalidRequest(Exception):
    """A click-to-call request whose parameters do not parse; `errors` maps name -> problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(CLICK_TO_CALL_INVALID_REQUEST)
        self.errors = errors


def click_to_call_exception_handler(exc, context):
    if isinstance(exc, InvalidRequest):
        return Response({"message": CLICK_TO_CALL_INVALID_REQUEST, "errors": exc.errors}, status=400)
    if isinstance(exc, ServiceError):
        return Response({"message": exc.message}, status=exc.status)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return Response({"message": CLICK_TO_CALL_UNAUTHORIZED}, status=401, headers=AUTH_HEADERS)
    if isinstance(exc, exceptions.Throttled):
        return Response({"message": TOO_MANY}, status=429, headers=_retry_after_header(exc))
    if isinstance(exc, exceptions.APIException):
        return Response({"message": str(exc.detail)}, status=exc.status_code)
    if database_unavailable(exc):
        logger.warning("database unavailable in click-to-call: %s", exc)
        return Response({"message": UNAVAILABLE}, status=503, headers=UNAVAILABLE_HEADERS)
    logger.exception("click-to-call failed")
    return Response({"message": "Internal server error"}, status=500)


# /api/v1 (ours): stable codes for programs, messages for people.

V1_INVALID_KEY = "The API key is not valid, or it was revoked or has expired."
V1_CODES = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
]


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _details(detail):
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {}


def v1_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        return Response(error_body("service_unavailable", UNAVAILABLE), status=503, headers=UNAVAILABLE_HEADERS)
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("unexpected error in %s", type(view).__name__)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    code = next((code for kind, code in V1_CODES if isinstance(exc, kind)), "error")
    headers = {}
    if isinstance(exc, exceptions.ValidationError):
        message, details = "The request is not valid; see details.", _details(exc.detail)
    elif isinstance(exc, exceptions.AuthenticationFailed):
        message, details = V1_INVALID_KEY, {}
    else:
        message, details = str(exc.detail), {}
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        headers.update(AUTH_HEADERS)
    if isinstance(exc, exceptions.Throttled):
        headers.update(_retry_after_header(exc))
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)
