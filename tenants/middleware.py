"""Hostile input stopped before it reaches a view, answered in the envelope of the API it aimed at.

- control characters (NUL included) in the path, or in an API's query string: 400; on the
  pages (admin, console) they are dropped from the query instead, so a search for any
  term works;
- a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413;
- JSON nested deeper than the parser can follow (RecursionError) in a view that reads the
  body itself: 400.

Which envelope: /api/v1/ answers `{"error": {...}}`, /superfone/ and /webhooks/ answer
`{"message"}`, every other page a plain-text response.
"""

import logging
import re
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse

from tenants.errors import UNAVAILABLE, UNAVAILABLE_HEADERS, database_unavailable, error_body

logger = logging.getLogger(__name__)

# C0 controls and DEL; tab, CR and LF are allowed in query values (text a person typed).
_PATH_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_QUERY_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refusal(path: str, status: int, code: str, message: str) -> HttpResponse:
    """A refusal in the envelope of the API `path` belongs to."""
    if path.startswith("/api/v1/"):
        return JsonResponse(error_body(code, message), status=status)
    if path.startswith(("/superfone/", "/webhooks/")):
        return JsonResponse({"message": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


_API_PREFIXES = ("/api/", "/superfone/", "/webhooks/")
_QUERY_CONTROL_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _path_has_control(request) -> bool:
    return bool(_PATH_CONTROL.search(request.path.encode("utf-8", "surrogateescape")))


def _query_has_control(request) -> bool:
    query = request.META.get("QUERY_STRING", "")
    return bool(query) and bool(_QUERY_CONTROL.search(unquote_to_bytes(query.replace("+", " "))))


def _query_without_control(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
    return urlencode([(_QUERY_CONTROL_TEXT.sub("", key), _QUERY_CONTROL_TEXT.sub("", value)) for key, value in pairs])


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _path_has_control(request):
            # No resource is named with control characters: not found, in the API's envelope.
            return refusal(request.path, 404, "not_found", "Not found: the path holds control characters.")
        if _query_has_control(request):
            if request.path.startswith(_API_PREFIXES):
                return refusal(request.path, 400, "malformed_request", "The query holds control characters.")
            request.META["QUERY_STRING"] = _query_without_control(request.META["QUERY_STRING"])
            request.__dict__.pop("GET", None)
        if request.method in _BODY_METHODS and not request.content_type.startswith("multipart/"):
            try:
                request.body  # read now, so an oversized body is refused here and not inside a view
            except RequestDataTooBig:
                return refusal(request.path, 413, "payload_too_large", "The request body is too large.")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RecursionError):
            return refusal(request.path, 400, "malformed_request", "The request body is nested too deeply.")
        if isinstance(exception, RequestDataTooBig):
            return refusal(request.path, 413, "payload_too_large", "The request body is too large.")
        return None


class DatabaseUnavailableMiddleware:
    """A database that is down or out of pooled connections answers 503 with Retry-After, in
    the envelope of the API the request aimed at (pages get plain text), never a 500 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable for %s: %s", request.path, exception)
        if request.path.startswith("/api/v1/"):
            return JsonResponse(error_body("service_unavailable", UNAVAILABLE), status=503, headers=UNAVAILABLE_HEADERS)
        return JsonResponse({"message": UNAVAILABLE}, status=503, headers=UNAVAILABLE_HEADERS)
