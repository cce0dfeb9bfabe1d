"""Request and response shapes of the SFVoPI-compatible API (docs/providers.md, "Superfone SFVoPI").

A call's read shape is calls.representations.CallSerializer, shared with pushes and the console.
"""

from django.http import QueryDict
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from calls import urlguard
from calls.models import (
    DEFAULT_CALL_TIME_LIMIT,
    DEFAULT_RING_TIMEOUT,
    HttpMethod,
    SfvopiApp,
)
from calls.phone import InvalidPhoneNumber, to_e164
from calls.representations import iso
from tenants.serializers import FieldsBuiltOnce


class StrictBooleanField(serializers.BooleanField):
    """true or false in a JSON body (not "yes", 1 or "0"); form posts keep their "true"/"false"."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or isinstance(self.root.initial_data, QueryDict):
            return super().to_internal_value(data)
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """A JSON string, not a number or boolean turned into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PhoneNumberField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return to_e164(super().to_internal_value(data))
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class WebhookUrlField(serializers.URLField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        if not url.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Enter an http or https URL.")
        try:
            urlguard.check_webhook_url(url)
        except urlguard.UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return url


class MethodField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=HttpMethod.values, default=HttpMethod.POST, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.upper()
        return super().to_internal_value(data)


class AppWriteSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=100)
    answer_url = WebhookUrlField()
    answer_method = MethodField()
    hangup_url = WebhookUrlField(required=False, allow_null=True, default=None)
    hangup_method = MethodField()
    fallback_answer_url = WebhookUrlField(required=False, allow_null=True, default=None)
    fallback_answer_method = MethodField()
    status = serializers.ChoiceField(choices=SfvopiApp.Status.values, default=SfvopiApp.Status.ACTIVE)
    retry_webhooks = StrictBooleanField(default=False, help_text="Ours: retry ring and hangup webhooks.")


# What every representation of an app shows: the SFVoPI one and /api/v1's. (A comment,
# not a docstring, so it does not become the schema's description of both.)
class AppFieldsSerializer(serializers.Serializer):
    app_id = serializers.CharField()
    name = serializers.CharField()
    answer_url = serializers.CharField()
    answer_method = serializers.CharField()
    hangup_url = serializers.CharField(allow_null=True)
    hangup_method = serializers.CharField()
    fallback_answer_url = serializers.CharField(allow_null=True)
    fallback_answer_method = serializers.CharField()
    status = serializers.CharField()
    retry_webhooks = serializers.BooleanField()


class AppSerializer(AppFieldsSerializer):
    org_id = serializers.IntegerField(source="organization_id")
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    def get_created_at(self, app) -> str:
        return iso(app.created_at)

    def get_updated_at(self, app) -> str | None:
        return iso(app.updated_at)


class NumberLinkSerializer(serializers.Serializer):
    voip_number = PhoneNumberField()


class LinkedNumberSerializer(serializers.Serializer):
    app_id = serializers.CharField(source="app.app_id")
    voip_number = serializers.CharField(source="number")
    org_id = serializers.IntegerField(source="organization_id")
    status = serializers.SerializerMethodField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    def get_status(self, linked) -> str:
        return "ACTIVE"

    def get_created_at(self, linked) -> str:
        return iso(linked.linked_at)

    def get_updated_at(self, linked) -> str | None:
        return None if linked.updated_at == linked.linked_at else iso(linked.updated_at)


class CallCreateSerializer(FieldsBuiltOnce):
    to = PhoneNumberField()
    answer_url = WebhookUrlField()
    answer_method = MethodField()
    ring_url = WebhookUrlField(required=False)
    ring_method = MethodField()
    hangup_url = WebhookUrlField(required=False)
    hangup_method = MethodField()
    call_time_limit = serializers.IntegerField(min_value=1, max_value=86400, default=DEFAULT_CALL_TIME_LIMIT)
    ring_timeout = serializers.IntegerField(min_value=1, max_value=600, default=DEFAULT_RING_TIMEOUT)
    # Ours (Superfone documents no recording field): record the call; the file is ours to serve.
    record = StrictBooleanField(default=False, help_text="Record the call (ours; default false)")

    def build_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().build_fields()
        fields["from"] = PhoneNumberField()
        return fields

    @staticmethod
    def call_fields(data):
        """The validated body as keyword arguments of calls.services.call_create."""
        return {
            "from_number": data["from"],
            "to_number": data["to"],
            "answer_url": data["answer_url"],
            "answer_method": data["answer_method"],
            "ring_url": data.get("ring_url", ""),
            "ring_method": data["ring_method"],
            "hangup_url": data.get("hangup_url", ""),
            "hangup_method": data["hangup_method"],
            "call_time_limit": data["call_time_limit"],
            "ring_timeout": data["ring_timeout"],
            "record": data["record"],
        }


# One example body for both create-call operations (SFVoPI and /api/v1) in the schema.
CALL_CREATE_EXAMPLE = OpenApiExample(
    "A sandbox call",
    request_only=True,
    value={
        "from": "+918000000001",
        "to": "+918000000002",
        "answer_url": "https://crm.example.com/answer",
        "hangup_url": "https://crm.example.com/hangup",
    },
)


class CallQueuedSerializer(serializers.Serializer):
    request_uuid = serializers.CharField()
    status = serializers.CharField()
