"""CALL_CREATE_RATE holds on every door that creates a call, whoever knocks (API key or session)."""

import pytest
from django.core.cache import cache

from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db

CUSTOMERS = ["+918000000701", "+918000000702"]


def _body(tenant, to):
    return {"from": tenant.from_number, "to": to, "answer_url": "https://customer.example.com/a"}


def _doors(tenant, agent, supervisor):
    session = client_for(supervisor)
    console = client_for(agent.user)
    return {
        "sfvopi (API key)": lambda to: tenant.api.post("/superfone/sfvopi/calls", _body(tenant, to), format="json"),
        "api/v1 (API key)": lambda to: tenant.api.post("/api/v1/calls", _body(tenant, to), format="json"),
        "api/v1 (session)": lambda to: session.post("/api/v1/calls", _body(tenant, to), content_type="application/json"),
        "click-to-call (API key)": lambda to: tenant.api.get(
            "/superfone/api/customer/click-2-call",
            {"customer_number": to, "user_number": agent.number, "call_action": "START"},
        ),
        "console Start (session)": lambda to: console.post(
            "/console/start", {"customer_number": to}, content_type="application/json"
        ),
    }


@pytest.mark.parametrize("door", ["sfvopi (API key)", "api/v1 (API key)", "api/v1 (session)",
                                  "click-to-call (API key)", "console Start (session)"])
def test_every_call_creating_door_is_limited(tenant, agent, supervisor, settings, door):
    settings.CALL_CREATE_RATE = "1/m"
    cache.clear()
    create = _doors(tenant, agent, supervisor)[door]

    first = create(CUSTOMERS[0])
    second = create(CUSTOMERS[1])

    assert first.status_code in (200, 201), first.content
    assert second.status_code == 429, second.content
    assert 1 <= int(second["Retry-After"]) <= 60
