from django.contrib import admin, messages

from tenants import services
from tenants.models import Membership, Organization, OrganizationAPIKey
from tenants.scoping import OrganizationScopedAdmin, organization_of


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    list_display = ["name", "time_zone", "retention_days", "created_at"]
    search_fields = ["name"]
    supervisor_can = frozenset({"view"})

    def save_model(self, request, obj, form, change):
        if change:
            services.organization_update(organization=obj, name=obj.name, time_zone=obj.time_zone,
                                         retention_days=obj.retention_days)
        else:
            created = services.organization_create(name=obj.name)
            services.organization_update(organization=created, name=obj.name, time_zone=obj.time_zone,
                                         retention_days=obj.retention_days)
            obj.pk, obj.created_at = created.pk, created.created_at
            obj._state.adding = False


@admin.register(Membership)
class MembershipAdmin(OrganizationScopedAdmin):
    """Who belongs where, in which role: only superusers hand out memberships."""

    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["organization"]
    supervisor_can = frozenset()

    def save_model(self, request, obj, form, change):
        saved = services.membership_set(user=obj.user, organization=obj.organization, role=obj.role)
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(OrganizationScopedAdmin):
    list_display = ["prefix", "name", "organization", "created", "last_used_at", "expiry_date", "revoked"]
    list_filter = ["revoked", "organization"]
    list_select_related = ["organization"]
    search_fields = ["prefix", "name"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked"]
    actions = ["revoke_keys"]
    supervisor_can = frozenset({"view", "add", "change"})

    def get_fields(self, request, obj=None):
        fields = ["name", "organization", "expiry_date"]
        if obj is not None:
            fields = ["prefix", *fields, "created", "last_used_at", "revoked"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "organization"] if obj is not None and request.user.is_superuser else readonly

    def save_model(self, request, obj, form, change):
        if change:
            services.api_key_update(key=obj, name=obj.name, expiry_date=obj.expiry_date)
            return
        organization = obj.organization if request.user.is_superuser else organization_of(request.user)
        key, raw_key = services.api_key_create(organization=organization, name=obj.name, expiry_date=obj.expiry_date)
        # The admin goes on with `obj` (log entry, redirect): make it the saved key.
        obj.pk, obj.id, obj.prefix, obj.created, obj.organization = key.pk, key.id, key.prefix, key.created, organization
        obj._state.adding = False
        # Only the hash is stored: this message is the one chance to copy the key.
        messages.warning(request, f"The API key “{obj.name}” is {raw_key} — copy it now, it will not be shown again.")

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for key in queryset.filter(revoked=False):
            services.api_key_revoke(key=key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
