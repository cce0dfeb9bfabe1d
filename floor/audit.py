"""What the audit trail records: the models a supervisor or admin can change.

django-auditlog writes one entry per create, change and delete, with who (the login of
the request, admin or API session), when, from where and the changed fields. Each model
gives its organization (`get_additional_data`) so a supervisor sees their own history.
Secrets never enter the trail.
"""

from auditlog.registry import auditlog

from agents.models import Agent, DeskSettings, Disposition, PauseReason
from calls.models import CarrierAccount, DoNotCallNumber, LinkedNumber, SfvopiApp
from tenants.models import Membership, Organization, OrganizationAPIKey


def register() -> None:
    auditlog.register(Organization)
    auditlog.register(Membership)
    auditlog.register(OrganizationAPIKey, exclude_fields=["hashed_key"])
    auditlog.register(SfvopiApp, mask_fields=["webhook_secret", "previous_webhook_secret"])
    auditlog.register(LinkedNumber)
    auditlog.register(CarrierAccount, exclude_fields=["credentials", "next_placement_at"])
    auditlog.register(Agent)
    auditlog.register(DeskSettings)
    auditlog.register(PauseReason)
    auditlog.register(Disposition)
    auditlog.register(DoNotCallNumber)
