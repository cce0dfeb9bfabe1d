"""/api/v1 for calls, apps, numbers and webhook deliveries (agents: agents/api_v1.py).

What every /api/v1 view shares (who may call, pages, errors) is tenants/api.py.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from calls import idempotency, recordings, selectors, services
from calls.api.serializers import CALL_CREATE_EXAMPLE, AppWriteSerializer, CallCreateSerializer
from calls.api.throttling import CallCreateThrottle
from calls.api.v1 import serializers as v1
from calls.models import DoNotCallNumber
from tenants.api import IDEMPOTENCY_KEY, PAGE_PARAMETERS, V1View, id_parameter, page_of, responses
from tenants.errors import error_body
from tenants.scoping import organization_of

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
                "Idempotency-Key", IDEMPOTENCY_KEY, OpenApiParameter.HEADER,
                description="The same key and body within 24 h replays the first answer and places no second call",
            )
        ],
        responses=responses({201: v1.CallSerializer}, 415, 422, 429),
        examples=[CALL_CREATE_EXAMPLE],
    )
    def post(self, request):
        data = self.validated(CallCreateSerializer)

        def produce():
            call = services.call_create(organization=self.organization, **CallCreateSerializer.call_fields(data))
            return status.HTTP_201_CREATED, v1.CallSerializer(call).data

        return idempotency.idempotent_create(request, organization=self.organization, scope="v1.calls", produce=produce)


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
        return self.page(apps, v1.AppSerializer, ("-created_at", "-id"), context=self.secrets_context)

    @extend_schema(
        tags=["Apps"], summary="Create an app", request=AppWriteSerializer, responses=responses({201: v1.AppSerializer}, 415)
    )
    def post(self, request):
        data = self.validated(AppWriteSerializer)
        app = services.app_create(organization=self.organization, created_by=request.user, **data)
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app.app_id), context=self.secrets_context).data, status=201)


class AppDetailView(V1View):
    @extend_schema(tags=["Apps"], summary="One app", responses=responses({200: v1.AppSerializer}, 404))
    def get(self, request, app_id):
        selectors.app_get(organization=self.organization, app_id=app_id)
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app_id), context=self.secrets_context).data)

    @extend_schema(
        tags=["Apps"],
        summary="Change an app (only the fields given)",
        request=AppWriteSerializer,
        responses=responses({200: v1.AppSerializer}, 404, 415),
    )
    def patch(self, request, app_id):
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        services.app_update(app=app, **self.validated(AppWriteSerializer, partial=True))
        return Response(v1.AppSerializer(_app_with_numbers(self.organization, app_id), context=self.secrets_context).data)

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
        responses=responses({201: v1.NumberSerializer}, 404, 409, 415),
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
        responses=responses({200: v1.NumberSerializer}, 404, 409, 415),
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


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown paths under /api/v1 answer in the API's envelope, not Django's HTML page."""
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


# Recordings


class RecordingListView(V1View):
    @extend_schema(
        tags=["Recordings"],
        summary="List call recordings, newest first",
        parameters=[v1.RecordingFilterSerializer, *PAGE_PARAMETERS],
        responses=responses({200: page_of(v1.RecordingSerializer)}),
    )
    def get(self, request):
        filters = self.validated(v1.RecordingFilterSerializer, data=request.query_params)
        found = selectors.recording_search(organization=self.organization, call=filters.get("call"))
        return self.page(found, v1.RecordingSerializer, ("-created_at", "-id"))


class RecordingDetailView(V1View):
    @extend_schema(tags=["Recordings"], summary="One recording",
                   parameters=[id_parameter("recording_id", "The recording's id")],
                   responses=responses({200: v1.RecordingSerializer}, 404))
    def get(self, request, recording_id):
        recording = selectors.recording_get(organization=self.organization, recording_id=recording_id)
        return Response(v1.RecordingSerializer(recording).data)


class RecordingAudioView(V1View):
    def check_permissions(self, request):
        # Superusers (no organization) play any organization's recordings in the admin.
        user = request.user
        if user and user.is_authenticated and user.is_superuser and organization_of(user) is None:
            return
        super().check_permissions(request)

    def perform_content_negotiation(self, request, force=False):
        # The body is audio whatever the Accept header says (players send audio/* or */*).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=["Recordings"],
        summary="The recording's audio (WAV or MP3; Range requests give 206)",
        parameters=[
            id_parameter("recording_id", "The recording's id"),
            OpenApiParameter("download", bool, description="true: as an attachment (a file to save)"),
        ],
        responses=responses({(200, "audio/wav"): OpenApiTypes.BINARY, (206, "audio/wav"): OpenApiTypes.BINARY}, 404),
    )
    def get(self, request, recording_id):
        recording = selectors.recording_get(organization=self.organization, recording_id=recording_id)
        return recordings.audio_response(request, recording, download=request.query_params.get("download") == "true")


# The do-not-call list

DO_NOT_CALL_NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="The number, E.164 or as it was added (spaces, no country code)")


class DoNotCallListView(V1View):
    @extend_schema(
        tags=["Do not call"],
        summary="The organization's do-not-call list, newest first",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(v1.DoNotCallSerializer)}),
    )
    def get(self, request):
        rows = selectors.do_not_call_list(organization=self.organization)
        return self.page(rows, v1.DoNotCallSerializer, ("-created_at", "-id"))

    @extend_schema(
        tags=["Do not call"],
        summary="Put a number on the do-not-call list: every later call to it is refused",
        description="Adding a number already on the list answers its existing entry.",
        request=v1.DoNotCallWriteSerializer,
        responses=responses({201: v1.DoNotCallSerializer}, 415),
    )
    def post(self, request):
        data = self.validated(v1.DoNotCallWriteSerializer)
        row = services.do_not_call_add(organization_id=self.organization.pk, number=data["number"],
                                       source=DoNotCallNumber.Source.API, reason=data["reason"])
        return Response(v1.DoNotCallSerializer(row).data, status=status.HTTP_201_CREATED)


class DoNotCallDetailView(V1View):
    @extend_schema(tags=["Do not call"], parameters=[DO_NOT_CALL_NUMBER], summary="Take a number off the list",
                   responses=responses({204: None}, 404))
    def delete(self, request, number):
        row = selectors.do_not_call_get(organization=self.organization, number=number)
        services.do_not_call_remove(organization_id=self.organization.pk, number=row.number)
        return Response(status=status.HTTP_204_NO_CONTENT)
