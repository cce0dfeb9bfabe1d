import pytest

from agents.models import DeskSettings, Disposition, PauseReason
from tests.agents.conftest import agent, agent_client, other_agent, supervisor  # noqa: F401


@pytest.fixture
def reasons(tenant):
    return {name: PauseReason.objects.create(organization=tenant.organization, name=name)
            for name in ("Break", "Lunch", "Training")}


@pytest.fixture
def outcomes(tenant):
    return {code: Disposition.objects.create(organization=tenant.organization, code=code, label=label)
            for code, label in (("sale", "Sale"), ("not_interested", "Not interested"))}


def desk(tenant, **fields):
    return DeskSettings.objects.update_or_create(organization=tenant.organization, defaults=fields)[0]


def organization_zone(tenant, name):
    """The organization's time zone: every time its people read or type is in it."""
    from tenants.services import organization_update

    organization_update(organization=tenant.organization, name=tenant.organization.name, time_zone=name)
