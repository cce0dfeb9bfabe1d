"""The /api/v1 REST API for CRMs and the app's own pages.

Views only parse, call one selector or service, and render. Every read and write is
scoped to the caller's organization (the API key's, or the signed-in member's), so
another organization's ids are simply not found. Errors leave through
`v1_exception_handler` in one envelope.
"""

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import services as agent_services
from agents.admin_scope import organization_of
from agents.auth import api_key_lookup
from agents.models import OrganizationAPIKey
from calls import idempotency, selectors, services
from calls.api.serializers import AppWriteSerializer, CallCreateSerializer
from calls.api.throttling import CallCreateThrottle
from calls.api.v1 import serializers as v1
from calls.api.v1.exceptions import ErrorSerializer, error_body, v1_exception_handler


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key: <prefix>.<secret>`: the request acts for the key's organization."""

    def authenticate(self, request):
        raw_key = request.headers.get("X-API-Key")
        if raw_key is None:
            return None
        key = api_key_lookup(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid, or it was revoked or has expired.")
        return (None, key)

    def authenticate_header(self, request):
        return "X-API-Key"


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
            raise exceptions.ValidationError({"cursor": ["This cursor is not valid; use a next or previous link."]})


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
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsOrganizationMember]

    def get_exception_handler(self):
        return v1_exception_handler

    @property
    def organization(self):
        if isinstance(self.request.auth, OrganizationAPIKey):
            return self.request.auth.organization
        return organization_of(self.request.user)

    def validated(self, serializer_class, data=None, **kwargs):
        serializer = serializer_class(data=self.request.data if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, queryset, serializer_class, ordering):
        paginator = Pages(ordering)
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(rows, many=True).data)


# Calls


class CallListView(V1View):
    def get_throttles(self):
        # The SFVoPI create's per-organization limit (CALL_CREATE_RATE) counts these calls too.
        return [CallCreateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        tags=["Calls"],
        summary="List calls, newest first",
        parameters=[v1.CallFilterSerializer, *PAGE_PARAMETERS],
        responses=responses({200: page_of(v1.CallSerializer)}),
    )
    def get(self, request):
        filters = self.validated(v1.CallFilterSerializer, data=request.query_params)
        calls = selectors.call_search(
            organization=self.organization,
            status=filters.get("status"),
            agent=filters.get("agent"),
            app=filters.get("app"),
            from_number=filters.get("from_number"),
            to_number=filters.get("to_number"),
            created_after=filters.get("created_after"),
            created_before=filters.get("created_before"),
        )
        return self.page(calls, v1.CallSerializer, ("-created_at", "-id"))

    @extend_schema(
        tags=["Calls"],
        summary="Place an outbound call (same rules as SFVoPI's)",
        request=CallCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER,
                description="The same key and body within 24 h replays the first answer and places no second call",
            )
        ],
        responses=responses({201: v1.CallSerializer}, 422, 429),
    )
    def post(self, request):
        data = self.validated(CallCreateSerializer)

        def produce():
            call = services.call_create(organization=self.organization, **CallCreateSerializer.call_fields(data))
            return status.HTTP_201_CREATED, v1.CallSerializer(call).data

        key = request.headers.get("Idempotency-Key")
        if key is None:
            status_code, body = produce()
            return Response(body, status=status_code)
        status_code, body, replayed = idempotency.idempotent_response(
            organization=self.organization, scope="v1.calls", key=key, payload=request.data, produce=produce
        )
        return Response(body, status=status_code, headers={"Idempotent-Replayed": "true"} if replayed else None)


class CallDetailView(V1View):
    @extend_schema(
        tags=["Calls"], summary="One call with its events", responses=responses({200: v1.CallDetailSerializer}, 404)
    )
    def get(self, request, request_uuid):
        call = selectors.call_get(organization=self.organization, request_uuid=request_uuid)
        return Response(v1.CallDetailSerializer(call).data)


class CallHangupView(V1View):
    @extend_schema(
        tags=["Calls"],
        summary="Hang up a live call",
        request=None,
        responses=responses({200: v1.CallSerializer}, 404, 409),
    )
    def post(self, request, request_uuid):
        call = selectors.call_get(organization=self.organization, request_uuid=request_uuid)
        return Response(v1.CallSerializer(services.call_hangup(call=call)).data)


# Agents


class AgentListView(V1View):
    @extend_schema(
        tags=["Agents"],
        summary="List agents with their current state",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(v1.AgentSerializer)}),
    )
    def get(self, request):
        return self.page(selectors.agent_list(organization=self.organization), v1.AgentSerializer, ("id",))

    @extend_schema(
        tags=["Agents"],
        summary="Create an agent and its console login",
        request=v1.AgentCreateSerializer,
        responses=responses({201: v1.AgentSerializer}, 409),
    )
    def post(self, request):
        data = self.validated(v1.AgentCreateSerializer)
        agent = agent_services.agent_enroll(organization=self.organization, **data)
        agent = selectors.agent_get(organization=self.organization, agent_id=agent.pk)
        return Response(v1.AgentSerializer(agent).data, status=status.HTTP_201_CREATED)


AGENT_ID = id_parameter("agent_id", "The agent's id")


class AgentDetailView(V1View):
    @extend_schema(
        tags=["Agents"], parameters=[AGENT_ID], summary="One agent", responses=responses({200: v1.AgentSerializer}, 404)
    )
    def get(self, request, agent_id):
        return Response(v1.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent_id)).data)

    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="Change an agent's number or flags",
        request=v1.AgentUpdateSerializer,
        responses=responses({200: v1.AgentSerializer}, 404, 409),
    )
    def patch(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        agent_services.agent_update(agent=agent, **self.validated(v1.AgentUpdateSerializer))
        return Response(v1.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent.pk)).data)


class AgentDeactivateView(V1View):
    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="Deactivate an agent (a live call runs to its end)",
        request=None,
        responses=responses({200: v1.AgentSerializer}, 404),
    )
    def post(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        agent_services.agent_deactivate(agent=agent)
        return Response(v1.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent.pk)).data)


class AgentStateView(V1View):
    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="An agent's current state and live call",
        responses=responses({200: v1.AgentStateSerializer}, 404),
    )
    def get(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        call = None
        if agent.live_call_uuid:
            call = selectors.call_get(organization=self.organization, request_uuid=agent.live_call_uuid)
        return Response(
            v1.AgentStateSerializer({"agent_id": agent.pk, "state": v1.agent_state(agent), "call": call}).data
        )


# Apps


def _app_with_numbers(organization, app_id):
    return selectors.app_list(organization=organization).prefetch_related("numbers").get(app_id=app_id)


class AppListView(V1View):
    @extend_schema(
        tags=["Apps"],
        summary="List apps",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(v1.AppSerializer)}),
    )
    def get(self, request):
        apps = selectors.app_list(organization=self.organization).prefetch_related("numbers")
        return self.page(apps, v1.AppSerializer, ("-created_at", "-id"))

    @extend_schema(
        tags=["Apps"], summary="Create an app", request=AppWriteSerializer, responses=responses({201: v1.AppSerializer})
    )
    def post(self, request):
        data = self.validated(AppWriteSerializer)
        app = services.app_create(organization=self.organization, created_by=request.user, **data)
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app.app_id)).data, status=201)


class AppDetailView(V1View):
    @extend_schema(tags=["Apps"], summary="One app", responses=responses({200: v1.AppSerializer}, 404))
    def get(self, request, app_id):
        selectors.app_get(organization=self.organization, app_id=app_id)
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app_id)).data)

    @extend_schema(
        tags=["Apps"],
        summary="Change an app (only the fields given)",
        request=AppWriteSerializer,
        responses=responses({200: v1.AppSerializer}, 404),
    )
    def patch(self, request, app_id):
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        services.app_update(app=app, **self.validated(AppWriteSerializer, partial=True))
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app_id)).data)

    @extend_schema(
        tags=["Apps"],
        summary="Delete an app; its numbers go back to the pool",
        responses=responses({204: None}, 404),
    )
    def delete(self, request, app_id):
        services.app_delete(app=selectors.app_get(organization=self.organization, app_id=app_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Numbers

NUMBER_ID = id_parameter("number_id", "The number's id")


class NumberListView(V1View):
    @extend_schema(
        tags=["Numbers"],
        summary="List the organization's VoIP numbers",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(v1.NumberSerializer)}),
    )
    def get(self, request):
        return self.page(selectors.number_list(organization=self.organization), v1.NumberSerializer, ("number",))

    @extend_schema(
        tags=["Numbers"],
        summary="Add a VoIP number, optionally linked to an app",
        request=v1.NumberCreateSerializer,
        responses=responses({201: v1.NumberSerializer}, 404, 409),
    )
    def post(self, request):
        data = self.validated(v1.NumberCreateSerializer)
        app = selectors.app_get(organization=self.organization, app_id=data["app_id"]) if "app_id" in data else None
        linked = services.number_create(organization=self.organization, number=data["number"], app=app)
        return Response(v1.NumberSerializer(linked).data, status=status.HTTP_201_CREATED)


class NumberDetailView(V1View):
    @extend_schema(
        tags=["Numbers"],
        parameters=[NUMBER_ID],
        summary="One number",
        responses=responses({200: v1.NumberSerializer}, 404),
    )
    def get(self, request, number_id):
        linked = selectors.number_get(organization=self.organization, number_id=number_id)
        return Response(v1.NumberSerializer(linked).data)

    @extend_schema(
        tags=["Numbers"], parameters=[NUMBER_ID], summary="Remove a number", responses=responses({204: None}, 404)
    )
    def delete(self, request, number_id):
        services.number_delete(linked=selectors.number_get(organization=self.organization, number_id=number_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class NumberLinkView(V1View):
    @extend_schema(
        tags=["Numbers"],
        parameters=[NUMBER_ID],
        summary="Link a number to an app",
        request=v1.NumberLinkSerializer,
        responses=responses({200: v1.NumberSerializer}, 404, 409),
    )
    def post(self, request, number_id):
        linked = selectors.number_get(organization=self.organization, number_id=number_id)
        data = self.validated(v1.NumberLinkSerializer)
        app = selectors.app_get(organization=self.organization, app_id=data["app_id"])
        return Response(v1.NumberSerializer(services.number_link(app=app, number=linked.number)).data)


class NumberUnlinkView(V1View):
    @extend_schema(
        tags=["Numbers"],
        parameters=[NUMBER_ID],
        summary="Unlink a number from its app (a no-op when it is not linked)",
        request=None,
        responses=responses({200: v1.NumberSerializer}, 404),
    )
    def post(self, request, number_id):
        linked = selectors.number_get(organization=self.organization, number_id=number_id)
        if linked.app_id:
            services.number_unlink(app=linked.app, number=linked.number)
        linked = selectors.number_get(organization=self.organization, number_id=number_id)
        return Response(v1.NumberSerializer(linked).data)


# Webhook deliveries


class WebhookDeliveryListView(V1View):
    @extend_schema(
        tags=["Webhook deliveries"],
        summary="List webhook deliveries, newest first",
        parameters=[v1.WebhookDeliveryFilterSerializer, *PAGE_PARAMETERS],
        responses=responses({200: page_of(v1.WebhookDeliverySerializer)}),
    )
    def get(self, request):
        filters = self.validated(v1.WebhookDeliveryFilterSerializer, data=request.query_params)
        deliveries = selectors.webhook_delivery_search(organization=self.organization, **filters)
        return self.page(deliveries, v1.WebhookDeliverySerializer, ("-created_at", "-id"))


class WebhookDeliveryRedeliverView(V1View):
    @extend_schema(
        tags=["Webhook deliveries"],
        summary="Send a failed webhook once more",
        request=None,
        responses=responses({202: v1.WebhookDeliverySerializer}, 404, 409),
    )
    def post(self, request, webhook_id):
        delivery = selectors.webhook_delivery_get(organization=self.organization, webhook_id=webhook_id)
        delivery = services.webhook_delivery_redeliver(delivery=delivery)
        return Response(v1.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def not_found(request, *args, **kwargs):
    """Unknown paths under /api/v1 answer in the API's envelope, not Django's HTML page."""
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
