import pytest
from django.test import Client

from agents import services as agent_services
from calls.models import CarrierAccount

PASSWORD = "correct-horse-battery"


def client_for(user=None, **kwargs):
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def agent(tenant):
    return agent_services.agent_create(
        organization=tenant.organization, username="asha", password=PASSWORD, number="+919800000001"
    )


@pytest.fixture
def supervisor(tenant):
    return agent_services.supervisor_create(organization=tenant.organization, username="sam", password=PASSWORD)


@pytest.fixture
def vobiz_account(tenant):
    return CarrierAccount.objects.create(
        organization=tenant.organization, name="vobiz", kind="vobiz", base_url="https://api.vobiz.example",
        credentials={"auth_id": "MA1", "auth_token": "secret"}, caller_id="+918000099999", is_default=True,
    )
