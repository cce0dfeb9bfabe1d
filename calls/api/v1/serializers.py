"""Request and response shapes of /api/v1."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.api.serializers import AppFieldsSerializer, PhoneNumberField, StrictCharField
from calls.causes import call_hangup_reason
from calls.models import Call, CallStatus, DoNotCallNumber, WebhookDelivery
from calls.representations import HangupReasonSerializer

MAX_ID = 2**63 - 1


def with_from_and_to(fields, field_class, **kwargs):
    # "from" is a Python keyword, so it cannot be declared as a class attribute.
    fields["from"] = field_class(source="from_number", **kwargs)
    fields["to"] = field_class(source="to_number", **kwargs)
    return fields


class AppSerializer(AppFieldsSerializer):
    class Meta:
        ref_name = "ApiApp"  # "App" is the SFVoPI shape

    webhook_secret = serializers.SerializerMethodField(
        help_text="Verifies the Standard Webhooks signature of our webhooks. Shown to API keys and "
        "organization admins; null for other members."
    )
    numbers = serializers.SerializerMethodField()

    def get_webhook_secret(self, app) -> str | None:
        return app.webhook_secret if self.context.get("show_secrets") else None
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_numbers(self, app) -> list[str]:
        return [linked.number for linked in app.numbers.all()]


class NumberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="E.164")
    app_id = serializers.SerializerMethodField()
    linked_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_app_id(self, linked) -> str | None:
        return linked.app.app_id if linked.app_id else None


class NumberCreateSerializer(serializers.Serializer):
    number = PhoneNumberField(help_text="Normalized to E.164")
    app_id = StrictCharField(required=False, max_length=32, help_text="Link it to this app right away")


class DoNotCallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="E.164")
    reason = serializers.CharField()
    source = serializers.ChoiceField(choices=DoNotCallNumber.Source.choices,
                                     help_text="Who put it there: an agent's disposition, admin or the API")
    call_uuid = serializers.SerializerMethodField(help_text="The call whose disposition put it there")
    created_at = serializers.DateTimeField()

    def get_call_uuid(self, row) -> str | None:
        return row.call.request_uuid if row.call_id and row.call else None


class DoNotCallWriteSerializer(serializers.Serializer):
    number = PhoneNumberField(help_text="Normalized to E.164")
    reason = StrictCharField(required=False, allow_blank=True, max_length=200, default="")


class NumberLinkSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ApiNumberLink"  # "NumberLink" is the SFVoPI shape

    app_id = serializers.CharField(max_length=32)


class CallEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    previous_status = serializers.CharField()
    applied = serializers.BooleanField(help_text="False when the report was a duplicate or came too late")
    source = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class CallSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ApiCall"  # "Call" is the SFVoPI shape

    request_uuid = serializers.CharField()
    call_uuid = serializers.CharField()
    app_id = serializers.SerializerMethodField()
    agent_id = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=Call.Kind.values)
    direction = serializers.CharField()
    status = serializers.ChoiceField(choices=CallStatus.values)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration = serializers.IntegerField(help_text="Seconds talked")
    hangup_cause = serializers.CharField(help_text="Q.850 cause; empty while the call is live")
    hangup_reason = serializers.SerializerMethodField(
        help_text="Why the call did not end normally, in words beside the code (null when it completed)"
    )
    call_time_limit = serializers.IntegerField()
    ring_timeout = serializers.IntegerField()
    carrier = serializers.CharField()

    def get_fields(self):
        return with_from_and_to(super().get_fields(), serializers.CharField)

    def get_app_id(self, call) -> str | None:
        return call.app.app_id if call.app_id else None

    @extend_schema_field(HangupReasonSerializer(allow_null=True))
    def get_hangup_reason(self, call):
        return call_hangup_reason(call)


class CallDetailSerializer(CallSerializer):
    class Meta:
        ref_name = "ApiCallDetail"

    events = CallEventSerializer(many=True, source="events.all")


class FilterSerializer(serializers.Serializer):
    """Query filters: a filter given empty is refused rather than read as absent."""

    def to_internal_value(self, data):
        blank = {name: ["This filter may not be empty."] for name in self.fields if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class CallFilterSerializer(FilterSerializer):
    status = serializers.ChoiceField(choices=CallStatus.values, required=False)
    agent = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Agent id")
    app = serializers.CharField(max_length=32, required=False, help_text="app_id")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)

    def get_fields(self):
        return with_from_and_to(super().get_fields(), PhoneNumberField, required=False)


class WebhookDeliverySerializer(serializers.Serializer):
    webhook_id = serializers.CharField(help_text="The webhook-id header it was sent with")
    request_uuid = serializers.CharField(source="call.request_uuid")
    kind = serializers.ChoiceField(choices=WebhookDelivery.Kind.values)
    state = serializers.ChoiceField(choices=WebhookDelivery.State.values)
    url = serializers.CharField()
    method = serializers.CharField()
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class WebhookDeliveryFilterSerializer(FilterSerializer):
    state = serializers.ChoiceField(choices=WebhookDelivery.State.values, required=False)
    kind = serializers.ChoiceField(choices=WebhookDelivery.Kind.values, required=False)
    call = serializers.CharField(max_length=32, required=False, help_text="request_uuid")


class RecordingSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    call = serializers.CharField(source="call.request_uuid", help_text="The call's request_uuid")
    call_uuid = serializers.CharField(source="call.call_uuid")
    duration = serializers.FloatField(help_text="Seconds")
    format = serializers.CharField(help_text="wav or mp3")
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes")
    created_at = serializers.DateTimeField()
    audio_url = serializers.SerializerMethodField(help_text="Our URL of the audio (same authentication)")

    def get_audio_url(self, recording) -> str:
        return f"/api/v1/recordings/{recording.pk}/audio"


class RecordingFilterSerializer(FilterSerializer):
    call = serializers.CharField(required=False, max_length=32, help_text="Only this call's (its request_uuid)")
