"""A database that is down or out of pooled connections: every door answers 503 with
Retry-After in its own envelope, never a 500."""

import pytest
from django.db import OperationalError

from calls import services as call_services
from tests.agents.test_console_views import post

pytestmark = pytest.mark.django_db

POOL_DRY = OperationalError("couldn't get a connection after 1.00 sec")


@pytest.fixture
def pool_dry(monkeypatch):
    def refuse(**kwargs):
        raise POOL_DRY

    monkeypatch.setattr(call_services, "call_create", refuse)


def test_sfvopi_create_answers_busy(tenant, webhook_server, pool_dry):
    response = tenant.api.post("/superfone/sfvopi/calls", {
        "from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
    }, format="json")
    assert (response.status_code, response["Retry-After"]) == (503, "1")
    assert response.json() == {"message": "Service busy, retry shortly"}


def test_api_v1_create_answers_busy(tenant, webhook_server, pool_dry):
    response = tenant.api.post("/api/v1/calls", {
        "from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
    }, format="json")
    assert (response.status_code, response["Retry-After"]) == (503, "1")
    assert response.json()["error"]["code"] == "service_unavailable"


def test_click_to_call_and_the_console_answer_busy(tenant, agent, agent_client, pool_dry):
    response = tenant.api.get("/superfone/api/customer/click-2-call", {
        "customer_number": "+918000000001", "user_number": agent.number,
    })
    assert (response.status_code, response.json()) == (503, {"message": "Service busy, retry shortly"})

    console = post(agent_client, "/console/start", {"customer_number": "+918000000001"})
    assert (console.status_code, console["Retry-After"]) == (503, "1")
    assert console.json() == {"message": "Service busy, retry shortly"}


def test_a_real_failure_is_still_a_500(tenant, webhook_server, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(call_services, "call_create", broken)
    response = tenant.api.post("/superfone/sfvopi/calls", {
        "from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
    }, format="json")
    assert response.status_code == 500
