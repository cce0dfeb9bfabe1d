"""Organization scoping: whose data a login may see, for querysets and Django admin.

A supervisor is a staff login with a Membership: on every admin page they see, choose,
search and create only their own organization's rows. Superusers see everything.
Supervisors need no Django permissions or groups: the admin classes grant them what
their role allows (`supervisor_can`), so a fresh `manage.py demo` supervisor just works.
A read-only viewer gets the same pages with "view" only.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from import_export import resources
from import_export.admin import ImportExportMixin

from tenants.errors import ServiceError
from tenants.models import Membership, Organization, Role

SAVE_CONFLICT = "This conflicts with a record saved meanwhile; check the values and save again."


def membership_of(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def organization_of(user) -> Organization | None:
    """The organization a login works for, or None (superusers, outsiders)."""
    membership = membership_of(user)
    return membership.organization if membership is not None else None


def role_of(user) -> str | None:
    membership = membership_of(user)
    return membership.role if membership is not None else None


def is_supervisor(user) -> bool:
    return bool(user.is_active and user.is_staff and not user.is_superuser and organization_of(user))


def organization_lookup(model):
    """The ORM path from `model` to its Organization, or None when it has none."""
    if model is Organization:
        return "pk"
    if model is get_user_model():
        return "membership__organization"
    field_names = {field.name for field in model._meta.get_fields()}
    if "organization" in field_names:
        return "organization"
    if "call" in field_names:
        return "call__organization"
    return None


def scoped(queryset, organization: Organization | None):
    if organization is None:
        return queryset.none()
    lookup = organization_lookup(queryset.model)
    if lookup is None:
        return queryset.none()
    return queryset.filter(**{lookup: organization.pk})


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Scopes querysets, foreign-key choices, search and new rows to the supervisor's organization."""

    # What a supervisor may do on this page: any of "view", "add", "change", "delete".
    supervisor_can = frozenset({"view", "add", "change", "delete"})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A conflict the form's own checks could not see (a concurrent save, a unique row
        # written meanwhile) is shown on the form like any other error, not as a 500.
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except (ServiceError, IntegrityError) as exc:
            request._save_conflict = exc.message if isinstance(exc, ServiceError) else SAVE_CONFLICT
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        conflict: str | None = getattr(request, "_save_conflict", None)
        if conflict is None:
            return form
        message: str = conflict

        class ConflictForm(form):  # type: ignore[valid-type,misc]
            def clean(self):
                super().clean()
                raise forms.ValidationError(message)

        ConflictForm.__name__ = form.__name__
        return ConflictForm

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization = organization_of(request.user)
        if organization is None:
            return queryset.none()
        return scoped(queryset, organization)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and not request.user.is_superuser:
            formfield.queryset = scoped(formfield.queryset, organization_of(request.user))
        return formfield

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # A supervisor's rows are always their own organization's: no field to pick it.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "organization"]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser and "organization" in fields:
            fields.remove("organization")
        return fields

    def get_list_display(self, request):
        display = list(super().get_list_display(request))
        if not request.user.is_superuser and "organization" in display:
            display.remove("organization")
        return display

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not request.user.is_superuser and "organization" in filters:
            filters.remove("organization")
        return filters

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.organization = organization_of(request.user)
        super().save_model(request, obj, form, change)

    def _supervisor_may(self, request, what):
        if not is_supervisor(request.user):
            return False
        if role_of(request.user) == Role.VIEWER:
            return what == "view" and "view" in self.supervisor_can
        return what in self.supervisor_can

    def has_module_permission(self, request):
        return super().has_module_permission(request) or is_supervisor(request.user)

    def has_act_permission(self, request) -> bool:
        """Actions that change something without editing the row (hang up, redeliver): never a viewer's."""
        if request.user.is_superuser:
            return True
        return is_supervisor(request.user) and role_of(request.user) in (Role.SUPERVISOR, Role.ORG_ADMIN)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self._supervisor_may(request, "view")

    def has_add_permission(self, request):
        return super().has_add_permission(request) or self._supervisor_may(request, "add")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._supervisor_may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) or self._supervisor_may(request, "delete")


class ScopedInline(admin.TabularInline):
    """A read-only inline under a scoped parent; its rows belong to the parent's organization."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or is_supervisor(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganizationImportExport(ImportExportMixin):
    """django-import-export on a scoped admin: a file is read into, and written from, the
    signed-in supervisor's organization (the resource takes it as `organization`); importing
    needs the page's add permission, exporting its view permission."""

    def _organization(self, request):
        return organization_of(request.user)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "organization": self._organization(request)}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "organization": self._organization(request)}

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self._organization(request) is not None

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class OrganizationResource(resources.ModelResource):
    """A django-import-export resource scoped to one organization: rows are read into it and
    written from it, and each row is saved by the app's service (`save_instance`), which
    checks it; a row the service refuses is reported and the whole file rolled back."""

    def __init__(self, organization: Organization | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.organization = organization

    def scoped(self, rows):
        return rows.filter(organization=self.organization) if self.organization else rows

    def require_organization(self) -> None:
        if self.organization is None:
            raise ValidationError("Choose the organization to import into.")

    def init_instance(self, row=None):
        return self._meta.model(organization=self.organization)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The service checks what the model's clean would, and more; nothing to add here.
        if import_validation_errors:
            raise ValidationError(import_validation_errors)
