"""Request and response shapes of /api/v1's agent endpoints."""

from django.contrib.auth.password_validation import validate_password
from django.core.validators import RegexValidator
from rest_framework import serializers

from agents.selectors import AGENT_STATES, agent_state
from calls.api.serializers import PhoneNumberField
from calls.api.v1 import serializers as v1


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    number = serializers.CharField()
    click_to_call_enabled = serializers.BooleanField()
    is_active = serializers.BooleanField()
    state = serializers.SerializerMethodField(help_text="available, on_call, wrap_up, paused or offline")
    current_call = serializers.CharField(
        source="live_call_uuid", allow_null=True, help_text="request_uuid of the agent's live call"
    )
    created_at = serializers.DateTimeField()

    def get_state(self, agent) -> str:  # noqa: D102
        return agent_state(agent=agent)


class AgentCreateSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150,
        validators=[RegexValidator(r"^[\w.@+-]+\Z", "Letters, digits and @/./+/-/_ only.")],
    )
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    number = PhoneNumberField(help_text="The agent's own phone, normalized to E.164")
    click_to_call_enabled = serializers.BooleanField(default=True)

    def validate_password(self, password):
        validate_password(password)
        return password


class AgentUpdateSerializer(serializers.Serializer):
    number = PhoneNumberField(required=False)
    click_to_call_enabled = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class AgentStateSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=AGENT_STATES)
    label = serializers.CharField(help_text="The state in words: Available, On call, Wrap-up, Paused, Offline")
    pause_reason = serializers.CharField(allow_null=True)
    pause_reason_id = serializers.IntegerField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True, help_text="When the agent entered this state")
    call = v1.CallSerializer(allow_null=True)


class AgentStateSetSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["available", "paused", "offline"])
    pause_reason_id = serializers.IntegerField(required=False, help_text="Required with paused")
