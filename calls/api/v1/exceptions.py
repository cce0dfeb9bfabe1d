"""The one error envelope of /api/v1: {"error": {"code", "message", "details"}}.

Codes are stable: clients branch on them, messages are for people.
"""

import logging
import math

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from calls.errors import ServiceError

logger = logging.getLogger(__name__)

# DRF exception -> our stable code.
CODES = [
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


def error_body(code, message, details=None):
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
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("unexpected error in %s", type(view).__name__)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    code = next((code for kind, code in CODES if isinstance(exc, kind)), "error")
    headers = {}
    if isinstance(exc, exceptions.ValidationError):
        message, details = "The request is not valid; see details.", _details(exc.detail)
    else:
        message, details = str(exc.detail), {}
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        headers["WWW-Authenticate"] = "X-API-Key"
    if isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: validation_error, not_authenticated, not_found, conflict, ...")
    message = serializers.CharField()
    details = serializers.DictField(help_text="For validation errors: field name -> list of problems.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
