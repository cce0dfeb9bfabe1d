import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from agents.services import agent_create, supervisor_create
from tenants.models import OrganizationAPIKey

pytestmark = pytest.mark.django_db


def test_it_asks_for_a_key(db):
    response = APIClient().get("/api/v1/calls")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "X-API-Key"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("key", ["nope", "abc.def", "x" * 300])
def test_it_refuses_a_bad_key(db, key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    response = client.get("/api/v1/calls")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_refuses_a_revoked_key(tenant):
    OrganizationAPIKey.objects.filter(organization=tenant.organization).update(revoked=True)

    response = tenant.api.get("/api/v1/calls")

    assert response.status_code == 401


def test_it_serves_a_signed_in_supervisor_their_organization(tenant, other_tenant):
    client = APIClient()
    client.force_login(supervisor_create(organization=tenant.organization, username="sup", password="x" * 10))

    apps = client.get("/api/v1/apps").json()["results"]
    created = client.post("/api/v1/numbers", {"number": "+917000055555"}, format="json")
    foreign = client.get(f"/api/v1/apps/{other_tenant.app.app_id}")

    assert [app["app_id"] for app in apps] == [tenant.app.app_id]
    assert created.status_code == 201
    assert foreign.status_code == 404


def test_it_lets_a_signed_in_agent_read_but_not_change(tenant):
    agent = agent_create(organization=tenant.organization, username="ag", password="x" * 10, number="+919800055555")
    client = APIClient()
    client.force_login(agent.user)

    read = client.get("/api/v1/calls")
    write = client.post("/api/v1/agents/%d/deactivate" % agent.pk)

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["error"]["code"] == "permission_denied"


def test_it_refuses_a_login_outside_any_organization(db):
    client = APIClient()
    client.force_login(get_user_model().objects.create_user(username="stranger", password="x" * 10))

    response = client.get("/api/v1/calls")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
