"""What every /api/v1 endpoint shares: who may call it, its pages and its documented errors.

Views only parse, call one selector or service, and render. Every read and write is
scoped to the caller's organization (the API key's, or the signed-in member's), so
another organization's ids are simply not found. Errors leave through
`tenants.errors.v1_exception_handler` in one envelope.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import CursorPagination
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

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from None


PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="Opaque position from a previous page's next or previous link"),
    OpenApiParameter("page_size", int, description="1-100, default 50"),
]


def page_of(serializer):
    return inline_serializer(
        name=f"{serializer.__name__.removesuffix('Serializer')}Page",
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
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
    409: "Conflicts with the current state (call_ended, number_taken, ...)",
    422: "idempotency_conflict: the Idempotency-Key was used with a different body",
    429: "rate_limited: too many calls created; retry after the Retry-After header's seconds",
}


def responses(success, *errors):
    """Success responses plus the error envelope for each listed status (400, 401 and 403 always)."""
    documented = dict(success)
    for code in sorted({400, 401, 403, *errors}):
        documented[code] = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
    return documented


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
