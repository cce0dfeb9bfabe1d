"""What every /api/v1 endpoint shares: who may call it, its pages and its documented errors.

Views only parse, call one selector or service, and render. Every read and write is
scoped to the caller's organization (the API key's, or the signed-in member's), so
another organization's ids are simply not found. Errors leave through
`tenants.errors.v1_exception_handler` in one envelope.
"""

from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import exceptions, permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.auth import ApiKeyAuthentication
from tenants.errors import v1_exception_handler
from tenants.models import Organization, OrganizationAPIKey, Role
from tenants.scoping import organization_of, role_of


class IsOrganizationMember(permissions.BasePermission):
    """An API key, or a signed-in member of an organization; only supervisors change data from a session."""

    message = "Only supervisors can change data from a browser session."

    def has_permission(self, request, view):
        if isinstance(request.auth, OrganizationAPIKey):
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if organization_of(user) is None:
            raise exceptions.PermissionDenied("This login does not belong to an organization.")
        return request.method in permissions.SAFE_METHODS or user.is_staff


INVALID_CURSOR = "This cursor is not valid; use a next or previous link."


class Pages(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def __init__(self, ordering):
        self.ordering = ordering

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": [f"page_size must be a whole number from 1 to {self.max_page_size}."]})
        return size

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None

    def get_paginated_response(self, data):
        next_link = self.get_next_link()
        return Response(
            {
                "next": next_link,
                "previous": self.get_previous_link(),
                "next_cursor": cursor_of(next_link),
                "results": data,
            }
        )


def cursor_of(link):
    """The `cursor` query parameter of a page link, or None."""
    if link is None:
        return None
    return parse_qs(urlsplit(link).query).get("cursor", [None])[0]


# What calls.idempotency accepts as an Idempotency-Key (printable ASCII; HTTP trims the ends).
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"}

PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque position: a previous page's `next_cursor` (or the cursor of its links)"),
    OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": 100}, description="1-100, default 50"),
]


def page_of(serializer):
    return inline_serializer(
        name=f"{serializer.__name__.removesuffix('Serializer')}Page",
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page's URL; null on the last page"),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page's URL; null on the first"),
            "next_cursor": serializers.CharField(
                allow_null=True, help_text="Pass as `cursor` to read the next page; null on the last page"
            ),
            "results": serializer(many=True),
        },
    )


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: validation_error, not_authenticated, not_found, conflict, ...")
    message = serializers.CharField()
    details = serializers.DictField(help_text="For validation errors: field name -> list of problems.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input (validation_error, malformed_request, ...)",
    401: "No API key or session (not_authenticated), or a bad key (authentication_failed)",
    403: "permission_denied",
    404: "Not found, or another organization's (…_not_found, not_found)",
    405: "method_not_allowed",
    406: "not_acceptable: only JSON is served",
    409: "Conflicts with the current state (call_ended, number_taken, ...)",
    415: "unsupported_media_type: send JSON",
    422: "idempotency_conflict: the Idempotency-Key was used with a different body",
    429: "rate_limited: too many calls created; retry after the Retry-After header's seconds",
}
V1_ERROR_EXAMPLES = {
    400: ("validation_error", "The request is not valid; see details.", {"to": ["This field is required."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("permission_denied", "Only supervisors can change data from a browser session.", {}),
    404: ("call_not_found", "Call not found", {}),
    405: ("method_not_allowed", 'Method "PUT" not allowed.', {}),
    406: ("not_acceptable", "Could not satisfy the request Accept header.", {}),
    409: ("call_ended", "Call v1_ob_req_01J... has already ended (COMPLETED)", {}),
    415: ("unsupported_media_type", 'Unsupported media type "text/plain" in request.', {}),
    422: ("idempotency_conflict", "Idempotency-Key was already used with a different request body", {}),
    429: ("rate_limited", "Request was throttled. Expected available in 1 second.", {}),
}
V1_ALWAYS = (400, 401, 403, 405, 406)
V1_WITH_BODY = (415,)


def responses(success, *errors):
    """Success responses plus the error envelope for each listed status, and those any request can meet."""
    documented = dict(success)
    for code in sorted({*V1_ALWAYS, *errors}):
        error_code, message, details = V1_ERROR_EXAMPLES[code]
        example = OpenApiExample(
            error_code, value={"error": {"code": error_code, "message": message, "details": details}}
        )
        documented[code] = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code], examples=[example])
    return documented


# The Superfone-compatible APIs answer errors as {"message"}, with field errors under "errors".


class MessageErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="For people; the status code says what kind of refusal it is")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="On 400 only: parameter or field name -> list of problems",
    )


class SfvopiErrorSerializer(MessageErrorSerializer):
    pass


class ClickToCallErrorSerializer(MessageErrorSerializer):
    pass


SFVOPI_ERRORS = {
    400: ("Invalid request body", "Invalid request body (field errors under `errors`), or a refusal such as "
          "a number not linked to an active app"),
    401: ("UnAuthorized, Please Provide API Key", "No API key, or a key that is unknown, revoked or expired"),
    404: ("Call not found", "Not found in the key's organization"),
    405: ('Method "PUT" not allowed.', "The path does not take this method"),
    406: ("Could not satisfy the request Accept header.", "Only JSON is served"),
    409: ("Call sfv_ob_req_01J... has already ended (COMPLETED)", "Conflicts with the current state"),
    415: ('Unsupported media type "text/plain" in request.', "Send JSON"),
    422: ("Idempotency-Key was already used with a different request body", "idempotency_conflict"),
    429: ("Too many requests, retry later", "Over CALL_CREATE_RATE; retry after the Retry-After header's seconds"),
}
CLICK_TO_CALL_ERRORS = {
    400: ("Invalid request", "A missing parameter, a number not in E.164, an unknown call_action (under `errors`)"),
    401: ("Unauthorized", "No API key, or a bad one"),
    403: ("Click-to-call is disabled for this agent", "The agent has click-to-call disabled"),
    404: ("User not found", "No active agent with that user_number in the key's organization"),
    405: ('Method "POST" not allowed.', "Only GET"),
    406: ("Could not satisfy the request Accept header.", "Only JSON is served"),
    409: ("The agent is already on a call", "Already on a call, or END with no live call to that customer"),
    422: ("The organization has no number to call from", "No number to call from"),
    429: ("Too many requests, retry later", "START over CALL_CREATE_RATE; retry after Retry-After seconds"),
}


def _message_responses(success, serializer, table, codes):
    documented = dict(success)
    for code in sorted(codes):
        message, description = table[code]
        example = OpenApiExample(f"{code}", value={"message": message})
        documented[code] = OpenApiResponse(serializer, description=description, examples=[example])
    return documented


def sfvopi_responses(success, *errors):
    """An SFVoPI operation's answers: its success, and the {"message"} error of each status it can meet."""
    return _message_responses(success, SfvopiErrorSerializer, SFVOPI_ERRORS, {400, 401, 405, 406, *errors})


def click_to_call_responses(success):
    return _message_responses(success, ClickToCallErrorSerializer, CLICK_TO_CALL_ERRORS, CLICK_TO_CALL_ERRORS)


def id_parameter(name, description):
    return OpenApiParameter(name, int, OpenApiParameter.PATH, description=description)


class V1View(APIView):
    permission_classes = [IsOrganizationMember]

    def get_authenticators(self):
        # A signed-in member's session stands in for the key (the app's own pages use it).
        return [ApiKeyAuthentication(optional=True), SessionAuthentication()]

    def get_exception_handler(self):
        return v1_exception_handler

    @property
    def organization(self) -> Organization:
        if isinstance(self.request.auth, OrganizationAPIKey):
            return self.request.auth.organization
        return organization_of(self.request.user)

    def validated(self, serializer_class, data=None, **kwargs):
        serializer = serializer_class(data=self.request.data if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @property
    def secrets_context(self) -> dict:
        """Serializer context: secrets are shown to the organization's API keys and its admins only."""
        user = self.request.user
        shown = isinstance(self.request.auth, OrganizationAPIKey) or bool(
            user and user.is_authenticated and (user.is_superuser or role_of(user) == Role.ORG_ADMIN)
        )
        return {"show_secrets": shown}

    def page(self, queryset, serializer_class, ordering, context=None):
        paginator = Pages(ordering)
        try:
            rows = paginator.paginate_queryset(queryset, self.request, view=self)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            # A cursor that decodes but whose position is not a value of the ordering field.
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None
        return paginator.get_paginated_response(serializer_class(rows, many=True, context=context or {}).data)
