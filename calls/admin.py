import csv
import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponse
from django.utils.html import format_html

from calls import recordings, services, urlguard
from calls.causes import call_hangup_reason
from calls.do_not_call_import import DoNotCallResource
from calls.models import (
    Call,
    CallEvent,
    CarrierAccount,
    DoNotCallNumber,
    LinkedNumber,
    Recording,
    RecordingPolicy,
    SfvopiApp,
    WebhookDelivery,
)
from calls.phone import InvalidPhoneNumber, to_e164
from calls.representations import iso
from tenants.display import clock, local_time
from tenants.errors import ServiceError
from tenants.scoping import OrganizationImportExport, OrganizationScopedAdmin, ScopedInline, organization_of

WEBHOOK_URL_FIELDS = ("answer_url", "hangup_url", "fallback_answer_url")


class AppForm(forms.ModelForm):
    class Meta:
        model = SfvopiApp
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for name in WEBHOOK_URL_FIELDS:
            if cleaned.get(name):
                try:
                    urlguard.check_webhook_url(cleaned[name])
                except urlguard.UnsafeURL as exc:
                    self.add_error(name, str(exc))
        return cleaned


class AppNumbersInline(ScopedInline):
    model = LinkedNumber
    fields = ["number", "linked_at"]
    readonly_fields = fields
    verbose_name_plural = "linked numbers (link and unlink them on the Linked numbers page)"


@admin.register(SfvopiApp)
class SfvopiAppAdmin(OrganizationScopedAdmin):
    form = AppForm
    list_display = ["name", "app_id", "organization", "status", "answer_url", "created_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "app_id"]
    readonly_fields = ["app_id", "webhook_secret", "created_by", "created_at", "updated_at"]
    inlines = [AppNumbersInline]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.APP_FIELDS if name in form.cleaned_data}
        if change:
            services.app_update(app=obj, **fields)
            return
        organization = form.cleaned_data.get("organization") or organization_of(request.user)
        app = services.app_create(organization=organization, created_by=request.user, **fields)
        # The admin goes on with `obj` (log entry, redirect): make it the saved app.
        obj.pk, obj.app_id, obj.organization, obj.created_at = app.pk, app.app_id, organization, app.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.app_delete(app=obj)

    def delete_queryset(self, request, queryset):
        for app in queryset:
            services.app_delete(app=app)


class E164NumberForm(forms.ModelForm):
    """A model form whose `number` is read as a phone number and kept in E.164."""

    def clean_number(self):
        try:
            return to_e164(self.cleaned_data["number"])
        except InvalidPhoneNumber as exc:
            raise forms.ValidationError(str(exc)) from exc


class LinkedNumberForm(E164NumberForm):
    class Meta:
        model = LinkedNumber
        fields = ["organization", "number", "app"]

    def clean(self):
        cleaned = super().clean()
        app = cleaned.get("app")
        organization = cleaned.get("organization") or self.instance.organization_id and self.instance.organization
        if app is not None and organization and app.organization_id != organization.pk:
            self.add_error("app", "The app belongs to another organization.")
        return cleaned


@admin.register(LinkedNumber)
class LinkedNumberAdmin(OrganizationScopedAdmin):
    """The organization's VoIP numbers. Linking goes through calls.services like the API's."""

    form = LinkedNumberForm
    list_display = ["number", "organization", "app", "linked_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "organization"]
    list_select_related = ["organization", "app"]
    search_fields = ["number", "app__name", "app__app_id"]
    autocomplete_fields = ["app"]
    readonly_fields = ["linked_at", "updated_at", "created_at"]
    actions = ["unlink_numbers"]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "number", "organization"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        app = form.cleaned_data.get("app")
        if change:
            with transaction.atomic():
                current = LinkedNumber.objects.select_for_update().get(pk=obj.pk)
                if current.app_id and current.app_id != (app.pk if app else None):
                    services.number_unlink(app=current.app, number=current.number)
                linked = services.number_link(app=app, number=current.number) if app else current
        else:
            organization = obj.organization if request.user.is_superuser else organization_of(request.user)
            linked = services.number_create(organization=organization, number=obj.number, app=app)
        # The admin goes on with `obj` (log entry, redirect): make it the saved row.
        obj.pk = linked.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.action(description="Unlink selected numbers from their apps", permissions=["change"])
    def unlink_numbers(self, request, queryset):
        unlinked = 0
        for linked in queryset.filter(app__isnull=False).select_related("app"):
            services.number_unlink(app=linked.app, number=linked.number)
            unlinked += 1
        self.message_user(request, f"Unlinked {unlinked} number(s).", messages.SUCCESS)


class CarrierAccountForm(forms.ModelForm):
    """Credentials are write-only: typed in as JSON, never rendered back."""

    new_credentials = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        label="Credentials",
        help_text='A JSON object, e.g. {"auth_id": "...", "auth_token": "..."}. '
        "Leave empty to keep the stored credentials; they are never shown.",
    )

    class Meta:
        model = CarrierAccount
        exclude = ["credentials"]

    def clean_new_credentials(self):
        text = self.cleaned_data["new_credentials"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Credentials must be a JSON object.")
        return value

    # Set per request by CarrierAccountAdmin.get_form: the supervisor's organization.
    scope_organization = None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("base_url"):
            try:
                urlguard.check_url_resolving(cleaned["base_url"])
            except urlguard.UnsafeURL as exc:
                self.add_error("base_url", str(exc))
        organization = cleaned.get("organization") or self.scope_organization or self.instance.organization
        if cleaned.get("is_default") and organization:
            others = CarrierAccount.objects.filter(organization=organization, is_default=True)
            if others.exclude(pk=self.instance.pk).exists():
                self.add_error("is_default", "The organization has a default carrier account already; unmark it first.")
        return cleaned

    def carrier_fields(self):
        """The account's settings as calls.services.carrier_account_save takes them."""
        fields = {name: self.cleaned_data[name] for name in services.CARRIER_ACCOUNT_FIELDS if name in self.cleaned_data}
        if self.cleaned_data.get("new_credentials") is not None:
            fields["credentials"] = self.cleaned_data["new_credentials"]
        return fields


@admin.register(CarrierAccount)
class CarrierAccountAdmin(OrganizationScopedAdmin):
    form = CarrierAccountForm
    list_display = ["name", "kind", "organization", "is_default", "caller_id", "calls_per_second",
                    "max_concurrent_calls"]
    list_filter = ["kind", "is_default", "organization"]
    list_select_related = ["organization"]
    search_fields = ["name", "caller_id"]
    readonly_fields = ["credentials_stored", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.scope_organization = organization_of(request.user)
        return form

    def save_model(self, request, obj, form, change):
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        saved = services.carrier_account_save(
            account=obj if change else None, organization=organization, **form.carrier_fields()
        )
        obj.pk, obj.organization, obj.created_at = saved.pk, saved.organization, saved.created_at
        obj._state.adding = False

    @admin.display(description="stored credentials")
    def credentials_stored(self, account):
        count = len(account.credentials or {})
        return f"{count} value(s) stored" if count else "none"


class CallEventInline(ScopedInline):
    model = CallEvent
    fields = ["created_at", "source", "previous_status", "status", "applied", "note", "sequence"]
    readonly_fields = fields
    verbose_name_plural = "events"


class WebhookDeliveryInline(ScopedInline):
    model = WebhookDelivery
    fields = ["kind", "state", "url", "method", "attempts", "response_code", "error", "created_at", "delivered_at"]
    readonly_fields = fields
    verbose_name_plural = "webhook deliveries"


def _redeliver_failed(modeladmin, request, deliveries):
    redelivered = 0
    for delivery in deliveries.filter(state=WebhookDelivery.State.FAILED):
        services.webhook_delivery_redeliver(delivery=delivery)
        redelivered += 1
    modeladmin.message_user(request, f"Queued {redelivered} failed webhook(s) for redelivery.", messages.SUCCESS)


class RecordOnlyAdmin(OrganizationScopedAdmin):
    """Calls and deliveries are records: nobody adds, edits or deletes them by hand; the
    actions change them through the lifecycle and the outbox."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(RecordOnlyAdmin):
    """Calls are a record: nobody edits them here. Status moves only through the lifecycle (the actions)."""

    # Fits a laptop screen: the call, who, when (the organization's time), how long, why it ended.
    list_display = ["request_uuid", "status", "agent", "to_number", "placed", "talk", "cause", "organization"]
    list_filter = [
        "status",
        "created_at",
        ("agent", admin.RelatedOnlyFieldListFilter),
        ("app", admin.RelatedOnlyFieldListFilter),
        "carrier",
        "organization",
    ]
    list_select_related = ["agent__user", "organization"]
    search_fields = ["request_uuid", "call_uuid", "from_number", "to_number"]
    date_hierarchy = "created_at"
    inlines = [CallEventInline, WebhookDeliveryInline]
    actions = ["hang_up_calls", "redeliver_failed_webhooks", "export_csv"]
    supervisor_can = frozenset({"view"})
    fieldsets = [
        (None, {"fields": ["request_uuid", "call_uuid", "organization", "kind", "status", "direction", "agent",
                           "app", "from_number", "to_number"]}),
        ("Timing", {"fields": ["created_at", "started_at", "answered_at", "ended_at", "duration_clock", "cause",
                               "call_time_limit", "ring_timeout", "deadline_at"]}),
        ("Webhooks", {"fields": ["answer_url", "ring_url", "hangup_url", "fallback_answer_url", "stream"]}),
        ("Recording", {"fields": ["record", "recording_player"]}),
        ("Carrier", {"fields": ["carrier", "carrier_account", "carrier_call_id", "carrier_attempts",
                                "carrier_error", "carrier_response"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [name for _, options in self.fieldsets for name in options["fields"]]

    @admin.display(description="recording")
    def recording_player(self, call):
        """Our organization-checked audio URL (never the carrier's), a player and a download link."""
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            return "–"
        url = f"/api/v1/recordings/{recording.pk}/audio"
        return format_html(
            '<audio controls preload="metadata" src="{}" data-duration="{}"></audio><br>'
            '{} s, {}, {} bytes &middot; <a href="{}?download=true">Download</a>',
            url, recording.duration, round(recording.duration, 1), recording.format, recording.size, url,
        )

    @admin.display(description="placed", ordering="created_at")
    def placed(self, call):
        return local_time(call.created_at, call.organization, "%d %b %H:%M")

    @admin.display(description="talk", ordering="duration")
    def talk(self, call):
        return clock(call.duration) if call.answered_at else "–"

    @admin.display(description="ended because")
    def cause(self, call):
        reason = call_hangup_reason(call)
        if reason is None:
            return f"normal ({call.hangup_cause})" if call.hangup_cause else "–"
        return f"{reason['words']} ({reason['cause']})" if reason["cause"] else reason["words"]

    @admin.display(description="duration")
    def duration_clock(self, call):
        return clock(call.duration)

    @admin.action(description="Hang up selected live calls", permissions=["act"])
    def hang_up_calls(self, request, queryset):
        ended, skipped = 0, 0
        for call in queryset:
            try:
                services.call_hangup(call=call)
                ended += 1
            except ServiceError:
                skipped += 1
        self.message_user(request, f"Hung up {ended} call(s); {skipped} had already ended.", messages.SUCCESS)

    @admin.action(description="Redeliver failed webhooks of selected calls", permissions=["act"])
    def redeliver_failed_webhooks(self, request, queryset):
        _redeliver_failed(self, request, WebhookDelivery.objects.filter(call__in=queryset))

    @admin.action(description="Export selected calls to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="calls.csv"'
        writer = csv.writer(response)
        columns = ["request_uuid", "call_uuid", "status", "direction", "kind", "agent", "app_id", "from", "to",
                   "created_at", "started_at", "answered_at", "ended_at", "duration", "hangup_cause", "carrier"]
        writer.writerow(columns)
        for call in queryset.select_related("agent__user", "app").order_by("-created_at", "-id"):
            writer.writerow([
                call.request_uuid, call.call_uuid, call.status, call.direction, call.kind,
                call.agent.user.get_username() if call.agent else "", call.app.app_id if call.app else "",
                call.from_number, call.to_number, iso(call.created_at), iso(call.started_at),
                iso(call.answered_at), iso(call.ended_at), call.duration, call.hangup_cause, call.carrier,
            ])
        return response


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordOnlyAdmin):
    list_display = ["webhook_id", "kind", "state", "call", "url", "attempts", "response_code", "created",
                    "organization"]
    list_filter = ["state", "kind", "organization"]
    list_select_related = ["call", "organization"]
    search_fields = ["webhook_id", "call__request_uuid", "url"]
    actions = ["redeliver"]
    supervisor_can = frozenset({"view"})

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    @admin.display(description="created", ordering="created_at")
    def created(self, delivery):
        return local_time(delivery.created_at, delivery.organization, "%d %b %H:%M:%S")

    @admin.action(description="Redeliver selected failed webhooks", permissions=["act"])
    def redeliver(self, request, queryset):
        _redeliver_failed(self, request, queryset)


@admin.register(Recording)
class RecordingAdmin(OrganizationScopedAdmin):
    """Recordings are a record: played from the call's page; deleted by retention (or here)."""

    list_display = ["call", "organization", "duration", "format", "size", "created_at"]
    list_filter = ["format", "organization"]
    list_select_related = ["call", "organization"]
    readonly_fields = ["organization", "call", "file", "duration", "format", "size", "created_at"]
    supervisor_can = frozenset({"view"})

    def has_add_permission(self, request):
        return False


@admin.register(RecordingPolicy)
class RecordingPolicyAdmin(OrganizationScopedAdmin):
    """Whether agents' calls are recorded, and the disclosure played before recording starts."""

    list_display = ["organization", "record_agent_calls", "disclosure"]
    supervisor_can = frozenset({"view", "add", "change"})

    def save_model(self, request, obj, form, change):
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        saved = recordings.policy_save(organization=organization, record_agent_calls=obj.record_agent_calls,
                                       disclosure=obj.disclosure, disclosure_text=obj.disclosure_text)
        obj.pk, obj.organization = saved.pk, organization


class DoNotCallNumberForm(E164NumberForm):
    class Meta:
        model = DoNotCallNumber
        fields = ["organization", "number", "reason"]


@admin.register(DoNotCallNumber)
class DoNotCallNumberAdmin(OrganizationImportExport, OrganizationScopedAdmin):
    """The organization's do-not-call list: added here (one number, or a file of them), by an
    agent's disposition or through /api/v1; taken off here. Entries are not edited: take one
    off and add it again."""

    form = DoNotCallNumberForm
    resource_classes = [DoNotCallResource]
    list_display = ["number", "reason", "source", "call", "created_at", "organization"]
    list_filter = ["source", "organization"]
    list_select_related = ["call"]
    search_fields = ["number", "reason"]
    readonly_fields = ["source", "call", "created_at"]
    supervisor_can = frozenset({"view", "add", "delete"})

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        saved = services.do_not_call_add(organization_id=organization.pk, number=obj.number,
                                         source=DoNotCallNumber.Source.ADMIN, reason=obj.reason)
        # The admin goes on with `obj` (log entry, redirect): make it the saved row.
        obj.pk, obj.organization, obj.source, obj.created_at = saved.pk, organization, saved.source, saved.created_at

    def delete_model(self, request, obj):
        services.do_not_call_remove(organization_id=obj.organization_id, number=obj.number)

    def delete_queryset(self, request, queryset):
        for row in queryset:
            services.do_not_call_remove(organization_id=row.organization_id, number=row.number)
