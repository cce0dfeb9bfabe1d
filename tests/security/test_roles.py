"""Secrets go only to those who hold them by role; refusals reveal nothing about other organizations."""

import pytest

from agents import services as agent_services
from tenants.models import OrganizationAPIKey, Role
from tests.security.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def _secrets(response):
    assert response.status_code == 200, response.content
    body = response.json()
    return [app["webhook_secret"] for app in body["results"]] if "results" in body else [body["webhook_secret"]]


def test_agents_and_supervisors_do_not_read_webhook_secrets(tenant, agent, supervisor):
    for user in (agent.user, supervisor):
        client = client_for(user)
        assert _secrets(client.get("/api/v1/apps")) == [None]
        assert _secrets(client.get(f"/api/v1/apps/{tenant.app.app_id}")) == [None]
        assert tenant.app.webhook_secret not in client.get("/api/v1/apps").content.decode()


def test_organization_admins_and_api_keys_read_webhook_secrets(tenant):
    admin = agent_services.supervisor_create(
        organization=tenant.organization, username="olga", password=PASSWORD, role=Role.ORG_ADMIN
    )

    assert _secrets(client_for(admin).get("/api/v1/apps")) == [tenant.app.webhook_secret]
    assert _secrets(tenant.api.get(f"/api/v1/apps/{tenant.app.app_id}")) == [tenant.app.webhook_secret]


def test_no_api_key_is_readable_through_the_api(tenant, supervisor):
    client = client_for(supervisor)
    for path in ("/api/v1/apps", "/api/v1/agents", "/api/v1/numbers", "/api/v1/calls"):
        assert tenant.api_key not in client.get(path).content.decode()
        assert tenant.api_key.split(".")[1] not in tenant.api.get(path).content.decode()


def test_a_number_held_by_another_organization_is_only_unavailable(tenant, other_tenant):
    response = tenant.api.post("/api/v1/numbers", {"number": other_tenant.from_number}, format="json")

    assert response.status_code == 409
    message = response.json()["error"]["message"]
    assert message == f"VoIP number {other_tenant.from_number} is not available"
    assert "Globex" not in response.content.decode() and "registered" not in message


def test_a_username_in_use_elsewhere_is_worded_neutrally(tenant, other_tenant):
    agent_services.supervisor_create(organization=other_tenant.organization, username="globex-boss", password=PASSWORD)

    response = tenant.api.post(
        "/api/v1/agents", {"username": "globex-boss", "password": PASSWORD, "number": "+919800033333"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "username_taken", "message": "That username is not available; choose another", "details": {},
    }


def test_an_api_key_is_shown_once_when_created_and_never_to_agents(tenant, supervisor, agent):
    admin = client_for(supervisor)

    created = admin.post("/admin/tenants/organizationapikey/add/", {"name": "crm"}, follow=True)
    shown = [str(message) for message in created.context["messages"]]
    raw_key = shown[0].split(" is ", 1)[1].split(" ", 1)[0]
    prefix = raw_key.split(".")[0]
    key = OrganizationAPIKey.objects.get(prefix=prefix)
    later = admin.get(f"/admin/tenants/organizationapikey/{key.pk}/change/").content.decode()
    listing = admin.get("/admin/tenants/organizationapikey/").content.decode()

    assert "copy it now" in shown[0] and len(raw_key) > len(prefix) + 10
    assert raw_key not in later and raw_key not in listing
    assert client_for(agent.user).get("/admin/tenants/organizationapikey/").status_code == 302  # not staff
