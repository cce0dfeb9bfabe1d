"""Admin pages of the desk: settings, pause reasons, dispositions, contacts (CSV), callbacks, states."""

import re

from django import forms
from django.contrib import admin, messages

from agents import desk
from agents.contact_import import ContactResource
from agents.models import (
    Agent,
    AgentState,
    Callback,
    CallDisposition,
    Contact,
    DeskSettings,
    DeskWebhook,
    DeskWebhookDelivery,
    Disposition,
    PauseReason,
)
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.errors import ServiceError
from tenants.scoping import OrganizationImportExport, OrganizationScopedAdmin, organization_of


@admin.register(DeskSettings)
class DeskSettingsAdmin(OrganizationScopedAdmin):
    list_display = ["organization", "wrap_up_seconds", "disposition_required"]
    supervisor_can = frozenset({"view", "add", "change"})


@admin.register(PauseReason)
class PauseReasonAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "is_active"]
    list_filter = ["is_active", "organization"]


@admin.register(Disposition)
class DispositionAdmin(OrganizationScopedAdmin):
    list_display = ["label", "code", "organization", "is_active", "adds_to_do_not_call"]
    list_filter = ["is_active", "organization"]


class ContactForm(forms.ModelForm):
    # Not "numbers": that is the reverse relation, which admin would read (and fail on) on a read-only page.
    phone_numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text="One per line (or separated by commas), in international form: +919876543210",
    )

    class Meta:
        model = Contact
        fields = ["organization", "name", "company", "email", "notes", "external_id", "tags"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["phone_numbers"].initial = "\n".join(row.number for row in self.instance.numbers.all())

    def clean_phone_numbers(self) -> list[str]:
        numbers = [part.strip() for part in re.split(r"[\n,;]", self.cleaned_data["phone_numbers"]) if part.strip()]
        for number in numbers:
            try:
                to_e164(number)
            except InvalidPhoneNumber as exc:
                raise forms.ValidationError(str(exc)) from exc
        return numbers


@admin.register(Contact)
class ContactAdmin(OrganizationImportExport, OrganizationScopedAdmin):
    """Contacts one at a time (their numbers in one field) or in bulk from CSV; both save
    through the desk's contact service, so a number belongs to one contact of the organization."""

    form = ContactForm
    resource_classes = [ContactResource]
    list_display = ["name", "company", "email", "external_id", "phone_numbers", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "company", "email", "external_id", "numbers__number"]

    @admin.display(description="numbers")
    def phone_numbers(self, contact):
        return ", ".join(row.number for row in contact.numbers.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("numbers")

    def save_model(self, request, obj, form, change):
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        saved = desk.contact_save(
            organization=organization, contact=obj if change else None, name=obj.name,
            numbers=form.cleaned_data["phone_numbers"], company=obj.company, email=obj.email, notes=obj.notes,
            external_id=obj.external_id, tags=obj.tags,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved row.
        obj.pk, obj.organization = saved.pk, organization



@admin.register(Callback)
class CallbackAdmin(OrganizationScopedAdmin):
    list_display = ["due_at", "number", "contact", "held_by", "status", "note", "organization"]
    list_filter = ["status", ("agent", admin.EmptyFieldListFilter), "organization"]
    list_select_related = ["contact", "agent__user", "organization"]
    search_fields = ["number", "contact__name", "agent__user__username"]
    fields = ["organization", "number", "contact", "agent", "due_at", "note", "status", "call", "reminded_at",
              "created_at"]
    readonly_fields = ["organization", "number", "contact", "reminded_at", "created_at", "call"]
    supervisor_can = frozenset({"view", "change"})
    actions = ["reassign"]

    def has_add_permission(self, request):
        return False  # promised from the console or /api/v1, where the number and time are checked

    def save_model(self, request, obj, form, change):
        desk.callback_edit(callback=obj, agent=obj.agent, due_at=obj.due_at, note=obj.note, status=obj.status)

    @admin.display(description="Agent", ordering="agent__user__username")
    def held_by(self, callback):
        return callback.agent or "Any agent"

    @admin.action(description="Reassign the selected callbacks to another agent", permissions=["change"])
    def reassign(self, request, queryset):
        organization = organization_of(request.user)
        agent_id = request.POST.get("agent")
        agents = Agent.objects.filter(is_active=True)
        if organization is not None:
            agents = agents.filter(organization=organization)
        if agent_id:
            agent = agents.filter(pk=agent_id).first()
            if agent is None:
                self.message_user(request, "Choose an agent of your organization.", messages.ERROR)
                return None
            moved = 0
            for callback in queryset:
                try:
                    desk.callback_reassign(callback=callback, agent=agent)
                    moved += 1
                except ServiceError as exc:
                    self.message_user(request, f"{callback}: {exc.message}", messages.ERROR)
            self.message_user(request, f"{moved} callback(s) reassigned to {agent}.")
            return None
        from django.template.response import TemplateResponse

        return TemplateResponse(request, "admin/agents/callback_reassign.html", {
            **self.admin_site.each_context(request),
            "callbacks": queryset, "agents": agents.select_related("user"), "opts": self.model._meta,
            "title": "Reassign callbacks",
        })


@admin.register(AgentState)
class AgentStateAdmin(OrganizationScopedAdmin):
    list_display = ["agent", "state", "pause_reason", "started_at", "ended_at", "organization"]
    list_filter = ["state", "organization"]
    list_select_related = ["agent__user", "pause_reason", "organization"]
    supervisor_can = frozenset({"view"})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CallDisposition)
class CallDispositionAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "call", "disposition", "note", "agent"]
    list_select_related = ["call", "disposition", "agent__user"]
    supervisor_can = frozenset({"view"})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeskWebhook)
class DeskWebhookAdmin(OrganizationScopedAdmin):
    list_display = ["app", "url", "dispositions", "agent_states", "organization"]


@admin.register(DeskWebhookDelivery)
class DeskWebhookDeliveryAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "event", "state", "attempts", "response_code", "error"]
    list_filter = ["state", "event"]
    supervisor_can = frozenset({"view"})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
