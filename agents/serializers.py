"""Request and response shapes of /api/v1's agent endpoints."""

from django.contrib.auth.password_validation import validate_password
from django.core.validators import RegexValidator
from rest_framework import serializers

from agents.selectors import AGENT_STATES, agent_state
from calls.api.serializers import PhoneNumberField, StrictBooleanField, StrictCharField
from calls.api.v1 import serializers as v1


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = StrictCharField(source="user.username")
    number = serializers.CharField()
    click_to_call_enabled = serializers.BooleanField()
    is_active = serializers.BooleanField()
    state = serializers.SerializerMethodField()
    current_call = serializers.CharField(
        source="live_call_uuid", allow_null=True, help_text="request_uuid of the agent's live call"
    )
    created_at = serializers.DateTimeField()

    def get_state(self, agent) -> str:
        return agent_state(is_active=agent.is_active, on_call=agent.live_call_uuid is not None)


class AgentCreateSerializer(serializers.Serializer):
    username = StrictCharField(
        max_length=150,
        validators=[RegexValidator(r"^[\w.@+-]+\Z", "Letters, digits and @/./+/-/_ only.")],
    )
    password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})
    number = PhoneNumberField(help_text="The agent's own phone, normalized to E.164")
    click_to_call_enabled = StrictBooleanField(default=True)

    def validate_password(self, password):
        validate_password(password)
        return password


class AgentUpdateSerializer(serializers.Serializer):
    number = PhoneNumberField(required=False)
    click_to_call_enabled = StrictBooleanField(required=False)
    is_active = StrictBooleanField(required=False)


class AgentStateSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=AGENT_STATES)
    call = v1.CallSerializer(allow_null=True)
