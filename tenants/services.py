"""Writes for organizations, memberships and API keys."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants.auth import api_key_forget
from tenants.errors import ServiceError
from tenants.models import Membership, Organization, OrganizationAPIKey, Role, validate_time_zone


def organization_create(*, name: str) -> Organization:
    try:
        with transaction.atomic():
            return Organization.objects.create(name=name)
    except IntegrityError:
        raise ServiceError(f"An organization named {name!r} exists already", status=409, code="conflict") from None


_UNCHANGED = object()


def organization_update(
    *, organization: Organization, name: str, time_zone: str | None = None, retention_days: object = _UNCHANGED
) -> Organization:
    """Rename; with `time_zone`, move the organization's calendar; with `retention_days` (an
    int, or None for the RETENTION_DAYS default), change how long its finished calls are kept."""
    organization.name = name
    fields = ["name"]
    if retention_days is not _UNCHANGED:
        if retention_days is not None and (
            not isinstance(retention_days, int) or isinstance(retention_days, bool) or not 1 <= retention_days <= 36_500
        ):
            raise ServiceError("retention_days is a whole number of days from 1 to 36500", code="validation_error")
        organization.retention_days = retention_days
        fields.append("retention_days")
    if time_zone is not None:
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            raise ServiceError(exc.messages[0], code="validation_error") from None
        organization.time_zone = time_zone
        fields.append("time_zone")
    try:
        with transaction.atomic():
            organization.save(update_fields=fields)
    except IntegrityError:
        raise ServiceError(f"An organization named {name!r} exists already", status=409, code="conflict") from None
    return organization


def membership_set(*, user, organization: Organization, role: str) -> Membership:
    """Put a login in an organization with a role. Admin roles make the login staff (Django admin)."""
    membership, _ = Membership.objects.update_or_create(
        user=user, defaults={"organization": organization, "role": Role(role)}
    )
    is_staff = role != Role.AGENT or user.is_staff
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    return membership


def api_key_create(*, organization: Organization, name: str, expiry_date=None) -> tuple[OrganizationAPIKey, str]:
    """Create a key and return (key, the raw key). Only the hash is stored: show the raw key once."""
    key, raw_key = OrganizationAPIKey.objects.create_key(organization=organization, name=name, expiry_date=expiry_date)
    assert isinstance(key, OrganizationAPIKey)
    return key, raw_key


def api_key_update(*, key: OrganizationAPIKey, name: str, expiry_date=None) -> OrganizationAPIKey:
    key.name = name
    key.expiry_date = expiry_date
    key.save(update_fields=["name", "expiry_date"])
    api_key_forget(key)
    return key


def api_key_revoke(*, key: OrganizationAPIKey) -> OrganizationAPIKey:
    """Revoke a key for good: this process refuses it at once, others within API_KEY_CACHE_SECONDS."""
    if not key.revoked:
        key.revoked = True
        key.save(update_fields=["revoked"])
    api_key_forget(key)
    return key
