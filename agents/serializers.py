"""Request and response shapes of /api/v1's agent endpoints."""

from django.contrib.auth.password_validation import validate_password
from django.core.validators import RegexValidator
from rest_framework import serializers

from agents.desk import callback_public
from agents.selectors import AGENT_STATES, agent_state, organization_time_zone
from calls.api.serializers import PhoneNumberField, StrictBooleanField, StrictCharField
from calls.api.v1 import serializers as v1


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = StrictCharField(source="user.username")
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
    label = serializers.CharField(help_text="The state in words: Available, On call, Wrap-up, Paused, Offline")
    pause_reason = serializers.CharField(allow_null=True)
    pause_reason_id = serializers.IntegerField(allow_null=True)
    since = serializers.DateTimeField(allow_null=True, help_text="When the agent entered this state")
    wrap_up_until = serializers.DateTimeField(
        allow_null=True, help_text="In a timed wrap-up: when it ends and the agent becomes Available"
    )
    wrap_up_extended = serializers.BooleanField(help_text="The agent took this wrap-up's one extension")
    call = v1.CallSerializer(allow_null=True)


class AgentStateSetSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["available", "paused", "offline"])
    pause_reason_id = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="With paused: required unless the organization's desk settings make the reason optional",
    )


class AgentCallSerializer(serializers.Serializer):
    to = PhoneNumberField(help_text="The customer's number; the agent's phone rings first")


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DispositionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    label = serializers.CharField()


class DispositionChoiceSerializer(DispositionSerializer):
    """One of the organization's outcomes, as listed for choosing."""

    adds_to_do_not_call = serializers.BooleanField(
        help_text="Saving this outcome puts the call's number on the organization's do-not-call list"
    )


class ContactNumberSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="E.164")


class ContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    company = serializers.CharField()
    email = serializers.CharField()
    notes = serializers.CharField()
    external_id = serializers.CharField()
    tags = serializers.ListField(child=StrictCharField())
    numbers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_numbers(self, contact) -> list[str]:
        return [row.number for row in contact.numbers.all()]


class ContactWriteSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    numbers = serializers.ListField(child=PhoneNumberField(), min_length=1, max_length=20,
                                    help_text="Phone numbers, normalized to E.164")
    company = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    notes = StrictCharField(max_length=10000, required=False, allow_blank=True, default="")
    external_id = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=StrictCharField(max_length=50), required=False, default=list,
                                 max_length=50)


class ContactSearchSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100,
                              help_text="Part of a name, company, email or number; or an exact external id")


class CallDispositionSerializer(serializers.Serializer):
    call_uuid = serializers.CharField()
    disposition = DispositionSerializer()
    note = serializers.CharField()
    agent_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.CharField()
    updated_at = serializers.CharField()


class CallDispositionWriteSerializer(serializers.Serializer):
    disposition_id = serializers.IntegerField(min_value=1, max_value=v1.MAX_ID)
    note = StrictCharField(max_length=4000, required=False, allow_blank=True, default="")


class CallbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agent_id = serializers.IntegerField(allow_null=True, help_text="null: left for any agent, not taken yet")
    contact_id = serializers.IntegerField(allow_null=True)
    contact_name = serializers.CharField(allow_null=True)
    number = serializers.CharField()
    due_at = serializers.CharField(help_text="UTC, ISO 8601")
    due_local = serializers.CharField(help_text="The due time in the organization's time zone")
    time_zone = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "done", "missed"])

    def to_representation(self, instance):
        return callback_public(instance, time_zone=organization_time_zone(organization_id=instance.organization_id))


class LocalDateTimeField(serializers.DateTimeField):
    """Keeps a time given without an offset naive, for the service to read in the organization's zone."""

    def enforce_timezone(self, value):
        return value


class CallbackHolderSerializer(serializers.Serializer):
    """Who holds a callback: one agent, or any agent of the organization."""

    agent_id = serializers.IntegerField(required=False, min_value=1, max_value=v1.MAX_ID,
                                        help_text="The agent who will call back; leave out with anyone=true")
    anyone = serializers.BooleanField(required=False, default=False,
                                      help_text="Any agent of the organization may take it (instead of agent_id)")

    def validate(self, attrs):
        if attrs.get("anyone") == ("agent_id" in attrs):
            raise serializers.ValidationError({"agent_id": ["Give exactly one of agent_id and anyone=true."]})
        return attrs


class CallbackWriteSerializer(CallbackHolderSerializer):
    number = PhoneNumberField()
    due_at = LocalDateTimeField(help_text="With an offset, or without one to be read in the organization's time zone")
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    contact_id = serializers.IntegerField(required=False, min_value=1, max_value=v1.MAX_ID)


class CallbackReassignSerializer(CallbackHolderSerializer):
    due_at = LocalDateTimeField(required=False, help_text="The new time; left out: its own time if still ahead, "
                                                          "else a minute from now")
