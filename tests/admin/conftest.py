"""A supervisor of one organization, a superuser, and rows of two organizations to compare."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from agents.models import ClickToCallNotification
from agents.services import supervisor_create
from calls.models import CarrierAccount
from tenants.services import api_key_create
from tests.api_v1.conftest import make_rows


@dataclass
class Org:
    tenant: object
    rows: object
    api_key: object
    carrier: object
    notification: object


def make_org(tenant, suffix):
    rows = make_rows(tenant, suffix)
    key, _ = api_key_create(organization=tenant.organization, name=f"key of {tenant.organization}")
    carrier = CarrierAccount.objects.create(
        organization=tenant.organization,
        name=f"{tenant.organization} carrier",
        kind="vobiz",
        credentials={"auth_id": f"MA{suffix}", "auth_token": f"sekret-token-{suffix}"},
    )
    notification = ClickToCallNotification.objects.create(
        organization=tenant.organization,
        agent=rows.agent,
        action="START",
        customer_number=f"+9181111{suffix:05d}",
    )
    return Org(tenant, rows, key, carrier, notification)


@pytest.fixture
def mine(tenant):
    return make_org(tenant, 1)


@pytest.fixture
def theirs(other_tenant):
    return make_org(other_tenant, 2)


@pytest.fixture
def supervisor(tenant):
    return supervisor_create(organization=tenant.organization, username="floor-lead", password="long-enough-pw")


@pytest.fixture
def supervisor_client(supervisor):
    client = Client()
    client.force_login(supervisor)
    return client


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="root", password="long-enough-pw"))
    return client
