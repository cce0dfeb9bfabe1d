"""Organizations, the people who belong to them and their roles, and their API keys.

The tables kept the names they had when these models lived in agents/ (db_table), so
moving them here changed no data.
"""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Asia/Kolkata, Europe/London, UTC)")


class Organization(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # Where the organization's people live: "today", reports and every time shown to or typed
    # by them are in this zone. Stored times stay UTC.
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="IANA name, e.g. Asia/Kolkata"
    )
    # How long finished calls, their events and webhooks are kept (callcenter/retention.py);
    # empty: the RETENTION_DAYS setting.
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(36_500)],
        help_text="Days finished calls and their webhooks are kept; empty for the default (RETENTION_DAYS)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "agents_organization"

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.pk}


class OrganizationAPIKey(AbstractAPIKey):
    """An organization's API key: only its hash is stored; the key is shown once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        db_table = "agents_organizationapikey"
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}


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

    def get_additional_data(self) -> dict:
        """Kept with each audit entry, so an organization sees its own history."""
        return {"organization_id": self.organization_id}
