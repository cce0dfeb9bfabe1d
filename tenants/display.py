"""How times and durations read for people: in their organization's time zone, as clocks.

Stored times stay UTC. A request from a member runs in the organization's time zone
(`OrganizationTimeZoneMiddleware`), so admin lists, date filters and their "Today", and
datetimes typed into forms are all in that zone.
"""

from datetime import datetime

from django.utils import timezone

from tenants.models import Organization
from tenants.scoping import organization_of

# Doors where no person reads a time: machines get ISO times in UTC there.
MACHINE_PATHS = ("/api/", "/superfone/", "/webhooks/", "/ws/")


def clock(seconds: float | int | None) -> str:
    """A duration as a clock: 65 -> "1:05", 3909 -> "1:05:09"; empty for None."""
    if seconds is None:
        return ""
    total = max(int(round(seconds)), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_time(moment: datetime | None, organization: Organization | None, fmt: str = "%d %b %H:%M:%S") -> str:
    """A moment as the organization's people read it (its zone), short; "–" for none."""
    if moment is None:
        return "–"
    zone = organization.zone if organization is not None else timezone.get_current_timezone()
    return moment.astimezone(zone).strftime(fmt)


class OrganizationTimeZoneMiddleware:
    """Run each request of an organization's member in the organization's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(MACHINE_PATHS):
            return self.get_response(request)
        organization = organization_of(request.user)
        if organization is None:
            return self.get_response(request)
        with timezone.override(organization.zone):
            return self.get_response(request)
