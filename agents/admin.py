from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents import services
from agents.models import Agent, AgentStatus, ClickToCallNotification, ConsoleConnection
from agents.selectors import PRESENCE_WINDOW, agent_state, with_current_state
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.scoping import OrganizationScopedAdmin, organization_of


def _e164(raw):
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as exc:
        raise forms.ValidationError(str(exc)) from exc


class AgentChangeForm(forms.ModelForm):
    class Meta:
        model = Agent
        fields = ["organization", "number", "click_to_call_enabled", "is_active"]

    # Set per request by AgentAdmin.get_form: the supervisor's organization.
    scope_organization = None

    def clean_number(self):
        return _e164(self.cleaned_data["number"])

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or self.scope_organization or self.instance.organization
        number = cleaned.get("number")
        if organization and number:
            clash = Agent.objects.filter(organization=organization, number=number).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("number", f"Another agent of {organization} already uses {number}.")
        return cleaned


class AgentAddForm(AgentChangeForm):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, help_text="The agent signs in to the console with it.")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("This username is already taken.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


@admin.register(Agent)
class AgentAdmin(OrganizationScopedAdmin):
    list_display = ["user", "number", "organization", "click_to_call_enabled", "is_active", "state", "console"]
    list_filter = ["is_active", "click_to_call_enabled", "organization"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "number"]
    readonly_fields = ["user", "state", "created_at"]
    supervisor_can = frozenset({"view", "add", "change"})

    def get_queryset(self, request):
        cutoff = timezone.now() - PRESENCE_WINDOW
        listening = ConsoleConnection.objects.filter(agent=OuterRef("pk"), seen_at__gte=cutoff)
        return with_current_state(super().get_queryset(request)).annotate(console_open=Exists(listening))

    @admin.display(description="console", boolean=True)
    def console(self, agent):
        """True only while a console tab of the agent is connected: a closed console is not presence."""
        return getattr(agent, "console_open", None)

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = AgentAddForm if obj is None else AgentChangeForm
        form = super().get_form(request, obj, **kwargs)
        form.scope_organization = organization_of(request.user)
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "password", "organization", "number", "click_to_call_enabled"]
        return ["user", "organization", "number", "click_to_call_enabled", "is_active", "state", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "organization"] if obj is not None and request.user.is_superuser else readonly

    @admin.display(description="state")
    def state(self, agent):
        state = AgentStatus(agent_state(agent=agent)).label
        reason = getattr(agent, "current_pause_reason", None)
        return f"{state} ({reason})" if reason else state

    def save_model(self, request, obj, form, change):
        if change:
            services.agent_update(
                agent=obj, number=obj.number, click_to_call_enabled=obj.click_to_call_enabled,
                is_active=obj.is_active,
            )
            return
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        agent = services.agent_enroll(
            organization=organization,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            number=obj.number,
            click_to_call_enabled=obj.click_to_call_enabled,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved agent.
        obj.pk, obj.user, obj.organization, obj.created_at = agent.pk, agent.user, agent.organization, agent.created_at
        obj._state.adding = False

    def get_changeform_initial_data(self, request):
        return {"click_to_call_enabled": True}


@admin.register(ClickToCallNotification)
class ClickToCallNotificationAdmin(OrganizationScopedAdmin):
    list_display = ["created_at", "action", "agent", "customer_number", "organization", "sent_success"]
    list_filter = ["action", "sent_success", "organization"]
    list_select_related = ["agent__user", "organization"]
    search_fields = ["customer_number", "agent__number", "agent__user__username"]
    supervisor_can = frozenset({"view"})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
from agents import admin_desk  # noqa: E402,F401  (registers the desk's pages)
