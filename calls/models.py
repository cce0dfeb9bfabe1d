import base64
import secrets
import string
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.models import Organization

_LOWER_ALNUM = string.ascii_lowercase + string.digits


def _random_suffix(length=12):
    return "".join(secrets.choice(_LOWER_ALNUM) for _ in range(length))


def new_app_id():
    return f"sfv_app_{_random_suffix()}"


def new_request_uuid():
    return f"sfv_ob_req_{_random_suffix()}"


def new_webhook_secret():
    # Standard Webhooks secrets are base64 behind a whsec_ prefix.
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_webhook_id():
    return f"msg_{secrets.token_hex(12)}"


def new_callback_token():
    return secrets.token_urlsafe(24)


# SFVoPI's defaults for a call: its talk-time cap and how long it may ring, in seconds
# (docs/providers.md, "Superfone SFVoPI").
DEFAULT_CALL_TIME_LIMIT = 14400
DEFAULT_RING_TIMEOUT = 60


class HttpMethod(models.TextChoices):
    POST = "POST"
    GET = "GET"


class SfvopiApp(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        INACTIVE = "INACTIVE"

    app_id = models.CharField(max_length=32, unique=True, default=new_app_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="apps")
    name = models.CharField(max_length=100)
    answer_url = models.URLField(max_length=2000)
    answer_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    hangup_url = models.URLField(max_length=2000, null=True, blank=True)
    hangup_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    fallback_answer_url = models.URLField(max_length=2000, null=True, blank=True)
    fallback_answer_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    # Signs every customer webhook (Standard Webhooks); the owner can rotate it.
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    # After a rotation webhooks carry signatures with both secrets for a day, so the
    # customer can switch over without dropping any.
    previous_webhook_secret = models.CharField(max_length=64, blank=True)
    webhook_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Superfone sends ring and hangup once; retrying them is an opt-in.
    retry_webhooks = models.BooleanField(default=False)
    # Passed to carriers that support them (Vobiz; DIDforSale takes send_digits).
    caller_name = models.CharField(max_length=50, blank=True)
    send_digits = models.CharField(max_length=64, blank=True, help_text="DTMF sent once the call connects")
    machine_detection = models.CharField(
        max_length=8, blank=True, choices=[("true", "Detect"), ("hangup", "Detect and hang up on machines")]
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SFVoPI app"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.app_id})"

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class LinkedNumber(models.Model):
    """One of the organization's VoIP numbers, linked to at most one app."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=16, unique=True, help_text="E.164")
    app = models.ForeignKey(SfvopiApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    linked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return self.number

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class CarrierKind(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (simulated network)"
    VOBIZ = "vobiz", "Vobiz"
    CALLAPI = "callapi", "CallAPI (Restcomm)"
    DIDFORSALE = "didforsale", "DIDforSale"
    SUPERFONE = "superfone", "Superfone upstream"


class CarrierAccount(models.Model):
    """How an organization's calls leave: which carrier, with which credentials and limits."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="carrier_accounts")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=CarrierKind.choices, default=CarrierKind.SANDBOX)
    base_url = models.URLField(blank=True)
    # Secrets (auth ids, tokens, API keys): never listed, serialized or logged.
    credentials = models.JSONField(default=dict, blank=True)
    caller_id = models.CharField(max_length=16, blank=True, help_text="E.164 caller ID for bridged calls")
    calls_per_second = models.FloatField(default=1.0)
    max_concurrent_calls = models.PositiveIntegerField(default=10)
    is_default = models.BooleanField(default=True)
    # Part of every callback URL we hand the carrier, so a callback proves it came from one.
    callback_token = models.CharField(max_length=64, default=new_callback_token, editable=False, unique=True)
    # The calls-per-second throttle: the earliest moment the next call may leave.
    next_placement_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_default=True), name="one_default_carrier_per_org"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class CallbackNonce(models.Model):
    """A signature nonce a carrier callback used; seeing it again means a replay."""

    account = models.ForeignKey(CarrierAccount, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "nonce"], name="one_use_per_callback_nonce")]


class CallStatus(models.TextChoices):
    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CANCELED = "canceled"
    # Final, for calls whose carrier reports no progress: how far the call got is unknown.
    ENDED = "ended"


LIVE_STATUSES = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.IN_PROGRESS)
FINAL_STATUSES = (
    CallStatus.COMPLETED,
    CallStatus.FAILED,
    CallStatus.NO_ANSWER,
    CallStatus.BUSY,
    CallStatus.CANCELED,
    CallStatus.ENDED,
)


class Call(models.Model):
    class Kind(models.TextChoices):
        API = "api", "SFVoPI API"
        CLICK_TO_CALL = "click_to_call", "Click-to-call"

    request_uuid = models.CharField(max_length=32, unique=True, default=new_request_uuid, editable=False)
    call_uuid = models.CharField(max_length=64, unique=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calls")
    app = models.ForeignKey(SfvopiApp, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.API)
    direction = models.CharField(max_length=8, default="OUTBOUND", editable=False)
    from_number = models.CharField(max_length=16)
    to_number = models.CharField(max_length=16)
    status = models.CharField(max_length=12, choices=CallStatus.choices, default=CallStatus.QUEUED)

    # The webhook targets in force for this call: per-call values over the app's.
    answer_url = models.URLField(max_length=2000, blank=True)
    answer_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    ring_url = models.URLField(max_length=2000, blank=True)
    ring_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    hangup_url = models.URLField(max_length=2000, blank=True)
    hangup_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    fallback_answer_url = models.URLField(max_length=2000, blank=True)
    fallback_answer_method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)

    call_time_limit = models.PositiveIntegerField(default=DEFAULT_CALL_TIME_LIMIT)
    ring_timeout = models.PositiveIntegerField(default=DEFAULT_RING_TIMEOUT)
    # When the current state runs out (ring timeout, time limit); the sweeper reads this.
    deadline_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(default=0)
    hangup_cause = models.CharField(max_length=8, blank=True)
    stream = models.JSONField(null=True, blank=True, help_text="The Stream JSON the answer webhook returned")
    record = models.BooleanField(default=False, help_text="Record the call (SFVoPI `record`, or the organization's "
                                                         "recording policy for click-to-call)")

    carrier = models.CharField(max_length=16, choices=CarrierKind.choices, default=CarrierKind.SANDBOX)
    carrier_account = models.ForeignKey(
        CarrierAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    carrier_call_id = models.CharField(max_length=128, blank=True, db_index=True)
    carrier_error = models.TextField(blank=True)
    # False when the carrier tells us nothing after taking the call (Superfone click-to-call):
    # the call then shows its progress as unknown and ends as ENDED.
    carrier_reports_progress = models.BooleanField(default=True)
    # The carrier's own answer to a failed request, for staff only (admin); never in the API.
    carrier_response = models.TextField(blank=True, editable=False)
    carrier_attempts = models.PositiveIntegerField(default=0)
    # A worker placing the call holds it until then, so it is never dialled twice.
    placing_until = models.DateTimeField(null=True, blank=True)
    # When a placement held back (rate limit, carrier retry) is due again; the sweeper
    # leaves the call alone until then.
    place_after = models.DateTimeField(null=True, blank=True)
    # Highest sequence number a carrier has reported, so late reports never win.
    carrier_sequence = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status__in=LIVE_STATUSES) & Q(agent__isnull=False),
                name="one_live_call_per_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="call_org_recent"),
            # The supervisor's figures (floor/figures.py) over a period: what they read rides in the
            # index, so PostgreSQL sums a month of calls from the index alone.
            models.Index(fields=["organization", "created_at"], name="call_org_figures",
                         include=["agent_id", "answered_at", "duration"]),
            models.Index(fields=["deadline_at"], condition=Q(deadline_at__isnull=False), name="call_live_deadline"),
            models.Index(fields=["status", "created_at"], name="call_status_created"),
        ]

    def __str__(self):
        return self.request_uuid

    @property
    def is_live(self):
        return self.status in LIVE_STATUSES


class CallEvent(models.Model):
    """Every status report about a call, applied or not, with where it came from."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=32, help_text="sandbox, timer, api, vobiz, callapi, ...")
    status = models.CharField(max_length=12, choices=CallStatus.choices)
    previous_status = models.CharField(max_length=12, choices=CallStatus.choices)
    applied = models.BooleanField()
    note = models.CharField(max_length=200, blank=True)
    sequence = models.IntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.call_id}: {self.previous_status} -> {self.status}"


class WebhookDelivery(models.Model):
    """The outbox: one customer webhook, written in the transaction that caused it."""

    class Kind(models.TextChoices):
        RING = "ring"
        ANSWER = "answer"
        FALLBACK_ANSWER = "fallback_answer"
        HANGUP = "hangup"
        RECORDING_READY = "recording_ready"

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed", "Failed (dead letter)"
        # An answer webhook not asked because the call ended first (hung up, timed out).
        CANCELED = "canceled", "Not sent: the call ended first"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_deliveries")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    webhook_id = models.CharField(max_length=40, unique=True, default=new_webhook_id, editable=False)
    url = models.URLField(max_length=2000)
    method = models.CharField(max_length=4, choices=HttpMethod.choices, default=HttpMethod.POST)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the row until then, so two workers never send it at once.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "kind"], name="one_delivery_per_call_and_kind"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_pending_due"
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.call_id}"


class IdempotencyKey(models.Model):
    """The first answer to a call-creating request sent with an Idempotency-Key, kept for replay."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=32, help_text="Which endpoint the key was used on")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # Text, not JSON: a replay must give back the very same document, key order included.
    response_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "scope", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"{self.scope} {self.key}"


class WorkerHeartbeat(models.Model):
    """A task worker thread that is alive says so every few seconds (calls/jobs.py): a task
    claimed by a worker that went silent is run again at once instead of after its lease."""

    worker_id = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.worker_id} seen {self.seen_at}"


class DoNotCallNumber(models.Model):
    """A number the organization must not call. Every new call to it is refused, whichever
    door it comes by (SFVoPI, /api/v1, click-to-call, the console); calls already live go on."""

    class Source(models.TextChoices):
        DISPOSITION = "disposition", "An agent's disposition"
        ADMIN = "admin", "Admin"
        API = "api", "API"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=16, help_text="E.164")
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ADMIN)
    # The call whose disposition put the number here, when one did.
    call = models.ForeignKey("Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "do-not-call number"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="do_not_call_number_unique_in_org"),
        ]

    def __str__(self):
        return self.number

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


class RecordingPolicy(models.Model):
    """An organization's recording choices for calls its agents place (click-to-call, console)."""

    DEFAULT_DISCLOSURE = "This call may be recorded for quality and training purposes."

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="recording_policy")
    record_agent_calls = models.BooleanField(default=False, help_text="Record click-to-call and console calls")
    disclosure = models.BooleanField(
        default=False, help_text="Play the disclosure prompt to the callee before recording starts"
    )
    disclosure_text = models.CharField(max_length=300, default=DEFAULT_DISCLOSURE)

    class Meta:
        verbose_name_plural = "recording policies"

    def __str__(self):
        return f"recording policy of {self.organization_id}"


def recording_storage():
    """The "recordings" storage (settings.STORAGES): local files by default, S3 when configured."""
    from django.core.files.storage import storages

    return storages["recordings"]


def recording_path(recording: "Recording", filename: str) -> str:
    # Grouped by organization, named by the call: nothing guessable is ever served from here.
    return f"{recording.organization_id}/{recording.call.call_uuid}.{recording.format}"


class Recording(models.Model):
    """A call's audio, kept in our storage (a carrier's own recording URL is never served)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="recordings")
    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="recording")
    file = models.FileField(upload_to=recording_path, storage=recording_storage, max_length=255)
    duration = models.FloatField(help_text="Seconds of audio")
    format = models.CharField(max_length=8, help_text="wav or mp3")
    size = models.PositiveBigIntegerField(help_text="Bytes")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="recording_org_created")]

    def __str__(self):
        return f"recording of {self.call_id}"

    @property
    def content_type(self) -> str:
        return {"wav": "audio/wav", "mp3": "audio/mpeg"}.get(self.format, "application/octet-stream")
