"""Fixtures for /api/v1: a tenant's own rows and another organization's, side by side."""

from dataclasses import dataclass

import pytest

from agents.services import agent_create
from calls.models import Call, LinkedNumber, WebhookDelivery


def make_call(tenant, to="+918000000111", agent=None, **fields):
    return Call.objects.create(
        organization=tenant.organization,
        app=tenant.app,
        agent=agent,
        from_number=tenant.from_number,
        to_number=to,
        answer_url="https://customer.example.com/answer",
        **fields,
    )


def make_failed_delivery(call):
    return WebhookDelivery.objects.create(
        organization=call.organization,
        call=call,
        kind=WebhookDelivery.Kind.HANGUP,
        url="https://customer.example.com/hangup",
        payload={"request_uuid": call.request_uuid},
        state=WebhookDelivery.State.FAILED,
        attempts=1,
        error="HTTP 500",
    )


@dataclass
class Rows:
    agent: object
    call: object
    delivery: object
    spare_number: object


def make_rows(tenant, suffix):
    agent = agent_create(
        organization=tenant.organization,
        username=f"agent-{suffix}",
        password="long-enough-password",
        number=f"+9198000{suffix:05d}",
    )
    call = make_call(tenant)
    delivery = make_failed_delivery(call)
    spare = LinkedNumber.objects.create(organization=tenant.organization, number=f"+9170000{suffix:05d}")
    return Rows(agent, call, delivery, spare)


@pytest.fixture
def own(tenant):
    return make_rows(tenant, 1)


@pytest.fixture
def foreign(other_tenant):
    return make_rows(other_tenant, 2)
