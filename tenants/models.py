"""Organizations, the people who belong to them and their roles, and their API keys.

The tables kept the names they had when these models lived in agents/ (db_table), so
moving them here changed no data.
"""

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class Organization(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "agents_organization"

    def __str__(self) -> str:
        return self.name


class OrganizationAPIKey(AbstractAPIKey):
    """An organization's API key: only its hash is stored; the key is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        db_table = "agents_organizationapikey"
        verbose_name = "API key"
        verbose_name_plural = "API keys"


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    SUPERVISOR = "supervisor", "Supervisor"
    ORG_ADMIN = "org_admin", "Organization admin"
    VIEWER = "viewer", "Read-only viewer"


# Roles that work in Django admin (their logins are staff).
ADMIN_ROLES = (Role.SUPERVISOR, Role.ORG_ADMIN, Role.VIEWER)


class Membership(models.Model):
    """Ties a login to the organization whose data it may see, in one role."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)

    class Meta:
        db_table = "agents_membership"

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"
