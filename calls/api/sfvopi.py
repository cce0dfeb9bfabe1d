"""The SFVoPI-compatible endpoints under /superfone/sfvopi/ (docs/providers.md, "Superfone SFVoPI").

Views only parse, call one service or selector, and render the {"data", "message"} envelope.
Errors leave through `sfvopi_exception_handler` in the documented {"message"} shape.
"""

import functools

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import delivery, idempotency, selectors, services
from calls.api.serializers import (
    CALL_CREATE_EXAMPLE,
    AppSerializer,
    AppWriteSerializer,
    CallCreateSerializer,
    CallQueuedSerializer,
    LinkedNumberSerializer,
    NumberLinkSerializer,
)
from calls.api.throttling import CallCreateThrottle
from calls.phone import InvalidPhoneNumber, to_e164
from calls.representations import CallSerializer, call_public, iso
from tenants.api import IDEMPOTENCY_KEY, sfvopi_responses
from tenants.auth import ApiKeyAuthentication
from tenants.errors import ServiceError, sfvopi_exception_handler


def envelope(data, status_code=status.HTTP_200_OK):
    return Response({"data": data, "message": "success"}, status=status_code)


class SfvopiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = []
    failure_message = "Internal server error"

    def get_exception_handler(self):
        return sfvopi_exception_handler

    @property
    def organization(self):
        return self.request.auth.organization

    def validated(self, serializer_class, **kwargs):
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@functools.cache  # one component per envelope, however many operations share it
def _envelope_of(serializer, many=False):
    return inline_serializer(
        name=f"{serializer.__name__.removesuffix('Serializer')}{'List' if many else ''}Envelope",
        fields={"data": serializer(many=many), "message": serializers.CharField(default="success")},
    )


class AppListView(SfvopiView):
    failure_message = "Failed to get SFVoPI apps"

    @extend_schema(tags=["SFVoPI apps"], responses=sfvopi_responses({200: _envelope_of(AppSerializer, many=True)}))
    def get(self, request):
        apps = selectors.app_list(organization=self.organization)
        return envelope(AppSerializer(apps, many=True).data)

    @extend_schema(
        tags=["SFVoPI apps"],
        request=AppWriteSerializer,
        responses=sfvopi_responses({200: _envelope_of(AppSerializer)}, 415),
    )
    def post(self, request):
        self.failure_message = "Failed to create SFVoPI app"
        data = self.validated(AppWriteSerializer)
        app = services.app_create(organization=self.organization, **data)
        return envelope(AppSerializer(app).data)


class AppDetailView(SfvopiView):
    failure_message = "Failed to get SFVoPI app"

    @extend_schema(tags=["SFVoPI apps"], responses=sfvopi_responses({200: _envelope_of(AppSerializer)}, 404))
    def get(self, request, app_id):
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        return envelope(AppSerializer(app).data)

    @extend_schema(
        tags=["SFVoPI apps"],
        request=AppWriteSerializer,
        responses=sfvopi_responses({200: _envelope_of(AppSerializer)}, 404, 415),
    )
    def put(self, request, app_id):
        """Replace the app: fields left out go back to their defaults."""
        self.failure_message = "Failed to update SFVoPI app"
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        data = self.validated(AppWriteSerializer)
        return envelope(AppSerializer(services.app_update(app=app, **data)).data)

    @extend_schema(
        tags=["SFVoPI apps"],
        request=AppWriteSerializer,
        responses=sfvopi_responses({200: _envelope_of(AppSerializer)}, 404, 415),
    )
    def patch(self, request, app_id):
        """Update only the fields given."""
        self.failure_message = "Failed to update SFVoPI app"
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        data = self.validated(AppWriteSerializer, partial=True)
        return envelope(AppSerializer(services.app_update(app=app, **data)).data)

    @extend_schema(
        tags=["SFVoPI apps"],
        responses=sfvopi_responses(
            {
                200: inline_serializer(
                    name="DeletedEnvelope",
                    fields={
                        "data": inline_serializer(name="Deleted", fields={"deleted": serializers.BooleanField()}),
                        "message": serializers.CharField(),
                    },
                )
            },
            404,
        ),
    )
    def delete(self, request, app_id):
        self.failure_message = "Failed to delete SFVoPI app"
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        services.app_delete(app=app)
        return envelope({"deleted": True})


_SECRET_ENVELOPE = inline_serializer(
    name="WebhookSecretEnvelope",
    fields={
        "data": inline_serializer(
            name="WebhookSecret",
            fields={
                "webhook_secret": serializers.CharField(),
                "previous_webhook_secret_valid_until": serializers.CharField(allow_null=True),
            },
        ),
        "message": serializers.CharField(),
    },
)


def _secret_data(app):
    until = None
    if app.previous_webhook_secret and app.webhook_secret_rotated_at:
        until = iso(app.webhook_secret_rotated_at + delivery.SECRET_ROTATION_OVERLAP)
    return {"webhook_secret": app.webhook_secret, "previous_webhook_secret_valid_until": until}


class AppWebhookSecretView(SfvopiView):
    """Ours: the secret that signs the app's webhooks (Standard Webhooks), and its rotation."""

    failure_message = "Failed to get webhook secret"

    @extend_schema(
        tags=["SFVoPI apps"],
        summary="Read the webhook signing secret (ours)",
        responses=sfvopi_responses({200: _SECRET_ENVELOPE}, 404),
    )
    def get(self, request, app_id):
        return envelope(_secret_data(selectors.app_get(organization=self.organization, app_id=app_id)))

    @extend_schema(
        tags=["SFVoPI apps"],
        summary="Rotate the webhook signing secret (ours)",
        description="Webhooks carry signatures with both the new and the previous secret for 24 hours.",
        request=None,
        responses=sfvopi_responses({200: _SECRET_ENVELOPE}, 404),
        operation_id="sfvopi_apps_webhook_secret_rotate",
    )
    def post(self, request, app_id):
        self.failure_message = "Failed to rotate webhook secret"
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        return envelope(_secret_data(services.app_webhook_secret_rotate(app=app)))


class AppNumbersView(SfvopiView):
    failure_message = "Failed to get numbers"

    @extend_schema(
        tags=["SFVoPI numbers"], responses=sfvopi_responses({200: _envelope_of(LinkedNumberSerializer, many=True)}, 404)
    )
    def get(self, request, app_id):
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        return envelope(LinkedNumberSerializer(selectors.app_numbers(app=app), many=True).data)

    @extend_schema(
        tags=["SFVoPI numbers"],
        request=NumberLinkSerializer,
        responses=sfvopi_responses({200: _envelope_of(LinkedNumberSerializer)}, 404, 409, 415),
    )
    def post(self, request, app_id):
        self.failure_message = "Failed to link number"
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        data = self.validated(NumberLinkSerializer)
        linked = services.number_link(app=app, number=data["voip_number"])
        return envelope(LinkedNumberSerializer(linked).data)


class AppNumberDetailView(SfvopiView):
    failure_message = "Failed to unlink number"

    @extend_schema(
        tags=["SFVoPI numbers"],
        responses=sfvopi_responses(
            {
                200: inline_serializer(
                    name="UnlinkedEnvelope",
                    fields={
                        "data": inline_serializer(name="Unlinked", fields={"deleted": serializers.BooleanField()}),
                        "message": serializers.CharField(),
                    },
                )
            },
            404,
        ),
    )
    def delete(self, request, app_id, voip_number):
        app = selectors.app_get(organization=self.organization, app_id=app_id)
        try:
            number = to_e164(voip_number)
        except InvalidPhoneNumber:
            raise ServiceError("Number not linked to this app", status=404, code="number_not_linked") from None
        services.number_unlink(app=app, number=number)
        return envelope({"deleted": True})


class CallListView(SfvopiView):
    failure_message = "Failed to initiate outbound call"
    page_size_max = 100
    page_max = 10_000_000

    def get_throttles(self):
        return [CallCreateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        tags=["SFVoPI calls"],
        summary="List calls (ours)",
        parameters=[
            OpenApiParameter("page", int, description="1-based page number, at most 10000000"),
            OpenApiParameter("page_size", int, description="1-100, default 50"),
        ],
        responses=sfvopi_responses(
            {
                200: inline_serializer(
                    name="CallPageEnvelope",
                    fields={
                        "data": CallSerializer(many=True),
                        "message": serializers.CharField(),
                        "page": serializers.IntegerField(),
                        "page_size": serializers.IntegerField(),
                        "has_more": serializers.BooleanField(),
                    },
                )
            }
        ),
    )
    def get(self, request):
        self.failure_message = "Failed to get calls"
        try:
            page = max(int(request.query_params.get("page", 1)), 1)
            page_size = min(max(int(request.query_params.get("page_size", 50)), 1), self.page_size_max)
        except ValueError:
            raise exceptions.ValidationError({"page": ["page and page_size must be whole numbers."]}) from None
        if page > self.page_max:
            # The offset must fit the database's integers.
            raise exceptions.ValidationError({"page": [f"page must be at most {self.page_max}."]})
        offset = (page - 1) * page_size
        calls = list(selectors.call_list(organization=self.organization)[offset : offset + page_size + 1])
        body = {
            "data": [call_public(call) for call in calls[:page_size]],
            "message": "success",
            "page": page,
            "page_size": page_size,
            "has_more": len(calls) > page_size,
        }
        return Response(body)

    @extend_schema(
        tags=["SFVoPI calls"],
        summary="Initiate an outbound call",
        request=CallCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", IDEMPOTENCY_KEY, OpenApiParameter.HEADER, description="Ours: replay-safe retries for 24 h"
            )
        ],
        responses=sfvopi_responses({200: _envelope_of(CallQueuedSerializer)}, 415, 422, 429),
        examples=[
            CALL_CREATE_EXAMPLE,
            OpenApiExample(
                "Queued",
                response_only=True,
                status_codes=[200],
                value={"data": {"request_uuid": "sfv_ob_req_01JD3S8Q5W", "status": "queued"}, "message": "success"},
            ),
        ],
    )
    def post(self, request):
        """Send an `Idempotency-Key` header (ours) to make retries safe: the same key and body
        within 24 hours replays the first answer and places no second call."""
        data = self.validated(CallCreateSerializer)

        def produce():
            call = services.call_create(organization=self.organization, **CallCreateSerializer.call_fields(data))
            return 200, {"data": {"request_uuid": call.request_uuid, "status": call.status}, "message": "success"}

        return idempotency.idempotent_create(
            request, organization=self.organization, scope="sfvopi.calls", produce=produce
        )


class CallDetailView(SfvopiView):
    failure_message = "Failed to get call"

    @extend_schema(
        tags=["SFVoPI calls"],
        summary="Get one call (ours)",
        responses=sfvopi_responses({200: _envelope_of(CallSerializer)}, 404),
    )
    def get(self, request, request_uuid):
        call = selectors.call_get(organization=self.organization, request_uuid=request_uuid)
        return envelope(call_public(call))

    @extend_schema(
        tags=["SFVoPI calls"],
        summary="Hang up a live call (ours)",
        operation_id="sfvopi_calls_hangup",
        responses=sfvopi_responses({200: _envelope_of(CallSerializer)}, 404, 409),
    )
    def delete(self, request, request_uuid):
        self.failure_message = "Failed to hang up call"
        call = selectors.call_get(organization=self.organization, request_uuid=request_uuid)
        return envelope(call_public(services.call_hangup(call=call)))


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown paths under /superfone/ answer in SFVoPI's envelope, not Django's HTML page."""
    return JsonResponse({"message": "Not found"}, status=404)
