"""API keys: which organization a request acts for."""

from datetime import timedelta

from django.utils import timezone

from agents.models import OrganizationAPIKey

# last_used_at is a hint for admins, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_lookup(raw_key):
    """The usable key behind `raw_key` (with its organization), or None."""
    if not raw_key or "." not in raw_key or len(raw_key) > 200:
        return None
    prefix = raw_key.partition(".")[0]
    key = (
        OrganizationAPIKey.objects.get_usable_keys()
        .select_related("organization")
        .filter(prefix=prefix)
        .first()
    )
    if key is None or not key.is_valid(raw_key) or key.has_expired:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        OrganizationAPIKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def organization_api_key_create(*, organization, name):
    """Create a key and return (key object, the raw key). The raw key is never stored."""
    return OrganizationAPIKey.objects.create_key(organization=organization, name=name)
