from django.conf import settings
from django.db import models

from tenants.models import Organization


class Agent(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    number = models.CharField(max_length=16, help_text="E.164, the agent's own phone")
    click_to_call_enabled = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="agent_number_unique_in_org"),
        ]

    def __str__(self):
        return f"{self.user.get_username()} ({self.number})"

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class ClickToCallNotification(models.Model):
    """One START or END request of the click-to-call API; its id is the notificationID."""

    class Action(models.TextChoices):
        START = "START"
        END = "END"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="notifications")
    action = models.CharField(max_length=5, choices=Action.choices)
    customer_number = models.CharField(max_length=16)
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_success = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.action} {self.customer_number} for {self.agent}"


class ConsoleConnection(models.Model):
    """One open console tab of an agent: a row per WebSocket, so every process can see who is listening.

    Tabs send a heartbeat that moves `seen_at`; a row whose process died without closing it
    stops counting once `seen_at` is older than agents.selectors.PRESENCE_WINDOW.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="console_connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.agent} on {self.channel_name}"


class DeskSettings(models.Model):
    """How an organization's desk behaves: wrap-up, dispositions, the CRM link. Its times are
    read and typed in the organization's time zone (`Organization.time_zone`), as everywhere.

    Kept here, not on the organization, because the tenants layer knows nothing of the desk.
    An organization without a row has the defaults.
    """

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="desk_settings")
    wrap_up_seconds = models.PositiveIntegerField(
        default=0, help_text="Time in wrap-up after every call before the agent is available again; 0 = none"
    )
    disposition_required = models.BooleanField(
        default=False, help_text="An agent stays in wrap-up until the call's disposition is saved"
    )
    crm_link_template = models.CharField(
        max_length=500,
        blank=True,
        help_text="A link to the contact's CRM record, e.g. https://crm.example.com/contacts/{external_id}; "
        "{external_id}, {number} and {contact_id} are filled in",
    )
    long_pause_minutes = models.PositiveIntegerField(
        default=15, help_text="On the floor, an agent paused longer than this stands out; 0 = never"
    )
    pause_reason_required = models.BooleanField(
        default=True, help_text="An agent (or supervisor) pausing must choose a pause reason; off: it is optional"
    )

    class Meta:
        verbose_name = "desk settings"
        verbose_name_plural = "desk settings"

    def __str__(self):
        return f"Desk settings of {self.organization}"

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class PauseReason(models.Model):
    """Why an agent is paused (Break, Lunch, Training...); each organization keeps its own list."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pause_reasons")
    name = models.CharField(max_length=50)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="pause_reason_unique_in_org")]

    def __str__(self):
        return self.name

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    ON_CALL = "on_call", "On call"
    WRAP_UP = "wrap_up", "Wrap-up"
    PAUSED = "paused", "Paused"
    OFFLINE = "offline", "Offline"


class AgentState(models.Model):
    """One interval an agent spent in one state; the open one (no ended_at) is the current state.

    The database keeps at most one open interval per agent (a partial unique index), so two
    requests changing an agent's state at once cannot both leave one open.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="states")
    state = models.CharField(max_length=10, choices=AgentStatus.choices)
    pause_reason = models.ForeignKey(PauseReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # A timed wrap-up: when its time runs out, and whether the agent took the one extension.
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    wrap_up_extended = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"], condition=models.Q(ended_at__isnull=True), name="one_open_state_per_agent"
            ),
            # Paused with a reason, or without one where the organization makes it optional.
            models.CheckConstraint(
                condition=models.Q(state="paused") | models.Q(pause_reason__isnull=True),
                name="pause_reason_only_when_paused",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "started_at"], name="agent_state_by_time"),
            # The floor's figures read the intervals that end inside a period (floor/figures.py).
            # It carries what they sum, so PostgreSQL answers from the index alone.
            models.Index(fields=["organization", "ended_at"], name="agent_state_org_ended",
                         include=["agent_id", "state", "started_at", "pause_reason_id"]),
        ]

    def __str__(self):
        return f"{self.agent} {self.state} from {self.started_at}"


class Disposition(models.Model):
    """An outcome an agent can give a call (Sale, Not interested...), per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="dispositions")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    adds_to_do_not_call = models.BooleanField(
        default=False, help_text="Saving this outcome puts the call's number on the organization's do-not-call list"
    )

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="disposition_code_unique_in_org"),
            # The target of CallDisposition's composite key: a disposition together with its organization.
            models.UniqueConstraint(fields=["id", "organization"], name="disposition_id_org"),
        ]

    def __str__(self):
        return self.label

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class CallDisposition(models.Model):
    """The outcome and note an agent gave one call."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    call = models.OneToOneField("calls.Call", on_delete=models.CASCADE, related_name="disposition")
    disposition = models.ForeignKey(Disposition, on_delete=models.PROTECT, related_name="calls")
    note = models.TextField(blank=True, max_length=4000)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The floor reads the dispositions given since a period began (floor/figures.py).
        indexes = [
            models.Index(fields=["organization", "created_at"], name="call_disposition_org_created"),
            # The floor's rollup finds the dispositions saved or corrected since its last pass (floor/rollup.py).
            models.Index(fields=["organization", "updated_at"], name="call_disposition_org_updated"),
        ]

    def __str__(self):
        return f"{self.disposition} for call {self.call_id}"


class Contact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="The contact's id in the CRM")
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique_in_org",
            ),
        ]

    def __str__(self):
        return self.name


class ContactNumber(models.Model):
    """One phone number of a contact, E.164; a number belongs to one contact per organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=16)
    label = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="contact_number_unique_in_org"),
        ]

    def __str__(self):
        return self.number


class Callback(models.Model):
    """A call back promised to a customer: due_at is stored in UTC and shown in the organization's time zone.

    It belongs to one agent, or, with no agent, to the organization's agents: any of them
    may take it, and the first to take it holds it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        MISSED = "missed", "Missed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="callbacks",
                              help_text="Empty: any agent of the organization may take it")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    number = models.CharField(max_length=16)
    due_at = models.DateTimeField()
    note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="The call it was promised on")
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="callback_due")]

    def __str__(self):
        return f"Call back {self.number} at {self.due_at}"


class DeskWebhook(models.Model):
    """An app's opt-in to desk webhooks (dispositions, agent state changes), signed with the app's secret."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    app = models.OneToOneField("calls.SfvopiApp", on_delete=models.CASCADE, related_name="desk_webhook")
    url = models.URLField(max_length=2000)
    dispositions = models.BooleanField(default=True, help_text="Send call.dispositioned")
    agent_states = models.BooleanField(default=False, help_text="Send agent.state_changed")

    def __str__(self):
        return f"Desk webhooks of {self.app} to {self.url}"


class DeskWebhookDelivery(models.Model):
    """The desk's outbox: one signed webhook, written in the transaction of the change it reports."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(DeskWebhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    webhook_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "desk webhook deliveries"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.event} to {self.subscription.url}"
