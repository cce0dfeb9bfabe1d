"""Carrier fixtures: a running fake per provider and an organization whose default carrier it is."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from agents.models import Agent
from calls import placement
from calls.models import Call, CarrierAccount
from tests.carriers.fakes.providers import (
    FakeCallApi,
    FakeDidForSale,
    FakeSuperfone,
    FakeVobiz,
)

PUBLIC_BASE_URL = "https://cc.example.com"
CALLER_ID = "+918000099999"


@pytest.fixture(autouse=True)
def _carrier_settings(settings):
    # Not the test client's host: callback URLs must come from this setting.
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.CARRIER_RETRY_BASE_SECONDS = 0.05


def _fake(cls):
    fake = cls().start()
    yield fake
    fake.stop()


@pytest.fixture
def vobiz():
    yield from _fake(FakeVobiz)


@pytest.fixture
def callapi():
    yield from _fake(FakeCallApi)


@pytest.fixture
def didforsale():
    yield from _fake(FakeDidForSale)


@pytest.fixture
def superfone():
    yield from _fake(FakeSuperfone)


def make_account(tenant, kind, fake, credentials, **fields):
    return CarrierAccount.objects.create(
        organization=tenant.organization, name=f"{kind} main", kind=kind, base_url=fake.base_url,
        credentials=credentials, caller_id=CALLER_ID, calls_per_second=fields.pop("calls_per_second", 100),
        **fields,
    )


@pytest.fixture
def vobiz_account(tenant, vobiz):
    return make_account(tenant, "vobiz", vobiz, {"auth_id": vobiz.auth_id, "auth_token": vobiz.auth_token})


@pytest.fixture
def callapi_account(tenant, callapi):
    return make_account(tenant, "callapi", callapi,
                        {"account_sid": callapi.account_sid, "auth_token": callapi.auth_token})


@pytest.fixture
def didforsale_account(tenant, didforsale):
    return make_account(tenant, "didforsale", didforsale, {"api_key": didforsale.api_key})


@pytest.fixture
def superfone_account(tenant, superfone):
    return make_account(tenant, "superfone", superfone, {"api_key": superfone.api_key})


@pytest.fixture
def agent(tenant):
    user = get_user_model().objects.create_user("asha", password="x")
    return Agent.objects.create(user=user, organization=tenant.organization, number="+919876543210")


def queue_call(tenant, webhook_server, to="+918000000001"):
    """An SFVoPI call through the public API, as a customer makes it."""
    body = {"from": tenant.from_number, "to": to, "answer_url": webhook_server.url("/answer"),
            "ring_url": webhook_server.url("/ring"), "hangup_url": webhook_server.url("/hangup")}
    response = tenant.api.post("/superfone/sfvopi/calls", body, format="json")
    assert response.status_code == 200, response.content
    return Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])


def queue_click_to_call(tenant, account, agent, to="+918000000001"):
    """A click-to-call call as the click-to-call API queues it: agent first, then the customer."""
    with transaction.atomic():
        call = Call.objects.create(
            organization=tenant.organization, agent=agent, kind=Call.Kind.CLICK_TO_CALL, from_number=CALLER_ID,
            to_number=to, carrier=account.kind, carrier_account=account, ring_timeout=45, call_time_limit=600,
        )
        transaction.on_commit(lambda: placement.place_call.enqueue(call.pk))
    return call


def placed(fake, call, run_tasks, wait=0):
    """Run the queued work, then return what the fake provider recorded for the call.

    Fails when the fake saw anything off in our requests.
    """
    run_tasks(wait=wait)
    call.refresh_from_db()
    assert fake.problems == []
    assert call.carrier_call_id in fake.calls
    return fake.calls[call.carrier_call_id]
