"""The floor in admin: its link on the index (its pages are in floor/views.py) and the audit trail."""

from django.contrib import admin

from floor.models import AuditEntry
from tenants.scoping import is_supervisor, organization_of

admin.site.index_template = "floor/admin_index.html"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who changed what and when; read-only for everyone, scoped to the member's organization."""

    list_display = ["timestamp", "actor", "action", "content_type", "object_repr", "changed", "remote_addr"]
    list_filter = ["action", "content_type", "timestamp"]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "actor__username", "changes_text"]
    date_hierarchy = "timestamp"
    fields = ["timestamp", "actor", "remote_addr", "action", "content_type", "object_pk", "object_repr", "changes"]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization = organization_of(request.user)
        if organization is None:
            return queryset.none()
        return queryset.filter(additional_data__organization_id=organization.pk)

    @admin.display(description="changed")
    def changed(self, entry):
        changes = entry.changes_dict or {}
        return ", ".join(sorted(changes)) or "–"

    def has_module_permission(self, request):
        return request.user.is_superuser or is_supervisor(request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or is_supervisor(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
