"""How a call looks to the outside: SFVoPI reads, live pushes and the console share one shape.

The serializer is the one definition: the OpenAPI schema documents it and `call_public`
renders it.
"""

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.causes import call_hangup_reason
from calls.models import Call
from tenants.serializers import FieldsBuiltOnce


class HangupReasonSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="busy, no_answer, unreachable, rejected, answer_url_failed, carrier_error, canceled or time_limit"
    )
    words = serializers.CharField()
    cause = serializers.CharField(allow_null=True, help_text="The Q.850 cause code")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z, as Superfone writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@extend_schema_field(OpenApiTypes.STR)
class IsoDateTimeField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return iso(value)


class CallSerializer(FieldsBuiltOnce):
    """A call as GET /superfone/sfvopi/calls returns it (ours: Superfone documents no call read)."""

    request_uuid = serializers.CharField()
    call_uuid = serializers.CharField()
    app_id = serializers.SerializerMethodField()
    kind = serializers.CharField()
    direction = serializers.CharField()
    status = serializers.CharField()
    agent_id = serializers.IntegerField(allow_null=True)
    call_time_limit = serializers.IntegerField()
    ring_timeout = serializers.IntegerField()
    created_at = IsoDateTimeField()
    started_at = IsoDateTimeField(allow_null=True)
    answered_at = IsoDateTimeField(allow_null=True)
    ended_at = IsoDateTimeField(allow_null=True)
    duration = serializers.IntegerField()
    hangup_cause = serializers.SerializerMethodField()
    progress_known = serializers.BooleanField(
        source="carrier_reports_progress",
        help_text="False when the carrier reports nothing after taking the call (Superfone click-to-call)",
    )
    hangup_reason = serializers.SerializerMethodField(
        help_text="Why the call did not end normally, in words beside the code (null when it completed)"
    )

    def build_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().build_fields()
        fields["from"] = serializers.CharField(source="from_number")
        fields["to"] = serializers.CharField(source="to_number")
        return fields

    def get_app_id(self, call) -> str | None:
        return call.app.app_id if call.app_id else None

    def get_hangup_cause(self, call) -> str | None:
        return call.hangup_cause or None

    @extend_schema_field(HangupReasonSerializer(allow_null=True))
    def get_hangup_reason(self, call):
        return call_hangup_reason(call)


def call_public(call: Call) -> dict[str, Any]:
    """The call as a plain dict (the app comes along: load it with select_related)."""
    return dict(CallSerializer(call).data)
