import pytest
from django.contrib.auth import get_user_model

from agents import services as agent_services
from agents.models import Agent

pytestmark = pytest.mark.django_db


def test_it_creates_an_agent_with_a_console_login(tenant):
    response = tenant.api.post(
        "/api/v1/agents",
        {"username": "asha", "password": "a-long-password", "number": "098000 11111"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "+919800011111"
    assert body["state"] == "available"
    assert "password" not in body
    user = get_user_model().objects.get(username="asha")
    assert user.check_password("a-long-password")
    assert user.membership.organization == tenant.organization


def test_it_refuses_a_taken_username_or_number(tenant, own):
    taken_name = tenant.api.post(
        "/api/v1/agents",
        {"username": own.agent.user.username, "password": "a-long-password", "number": "+919800022222"},
        format="json",
    )
    taken_number = tenant.api.post(
        "/api/v1/agents", {"username": "fresh", "password": "a-long-password", "number": own.agent.number},
        format="json",
    )

    assert (taken_name.status_code, taken_name.json()["error"]["code"]) == (409, "username_taken")
    assert (taken_number.status_code, taken_number.json()["error"]["code"]) == (409, "agent_number_taken")


def test_it_refuses_a_short_password(tenant):
    response = tenant.api.post(
        "/api/v1/agents", {"username": "shorty", "password": "abc", "number": "+919800033333"}, format="json"
    )

    assert response.status_code == 400
    assert "password" in response.json()["error"]["details"]


def test_it_updates_and_deactivates_an_agent(tenant, own):
    updated = tenant.api.patch(
        f"/api/v1/agents/{own.agent.pk}", {"number": "+919800044444", "click_to_call_enabled": False}, format="json"
    )
    deactivated = tenant.api.post(f"/api/v1/agents/{own.agent.pk}/deactivate")

    assert updated.json()["number"] == "+919800044444"
    assert updated.json()["click_to_call_enabled"] is False
    assert deactivated.json()["state"] == "offline"
    own.agent.refresh_from_db()
    assert (own.agent.number, own.agent.is_active) == ("+919800044444", False)


def test_it_reports_an_agent_on_a_call(tenant, own):
    call = agent_services.agent_click_to_call(agent=own.agent, customer_number="+918000000111")

    state = tenant.api.get(f"/api/v1/agents/{own.agent.pk}/state").json()
    listed = tenant.api.get("/api/v1/agents").json()["results"]

    assert state["state"] == "on_call"
    assert state["call"]["request_uuid"] == call.request_uuid
    assert listed[0]["current_call"] == call.request_uuid


@pytest.mark.parametrize("agent_id", ["0", "-1", "abc", str(2**70)])
def test_it_answers_404_for_ids_that_cannot_exist(tenant, agent_id):
    response = tenant.api.get(f"/api/v1/agents/{agent_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "agent_not_found"
    assert Agent.objects.count() == 0


def test_a_crm_extends_an_agents_wrap_up_once(tenant, own):
    from agents.models import DeskSettings
    from calls import lifecycle

    DeskSettings.objects.update_or_create(organization=tenant.organization, defaults={"wrap_up_seconds": 60})
    call = agent_services.agent_click_to_call(agent=own.agent, customer_number="+918000000111")
    lifecycle.transition(call.pk, "completed", source="test")
    before = tenant.api.get(f"/api/v1/agents/{own.agent.pk}/state").json()
    assert (before["state"], before["wrap_up_extended"]) == ("wrap_up", False)

    extended = tenant.api.post(f"/api/v1/agents/{own.agent.pk}/wrap-up/extend")

    assert extended.status_code == 200, extended.content
    assert extended.json()["wrap_up_extended"] is True
    assert extended.json()["wrap_up_until"] > before["wrap_up_until"]
    again = tenant.api.post(f"/api/v1/agents/{own.agent.pk}/wrap-up/extend")
    assert again.status_code == 409 and again.json()["error"]["code"] == "wrap_up_not_extendable"
