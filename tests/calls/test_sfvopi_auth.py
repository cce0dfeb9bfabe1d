import pytest

from tenants.models import OrganizationAPIKey

pytestmark = pytest.mark.django_db


def test_it_asks_for_a_key_when_none_is_sent(client):
    response = client.get("/superfone/sfvopi/apps")
    assert response.status_code == 401
    assert response.json() == {"message": "UnAuthorized, Please Provide API Key"}


def test_it_refuses_an_unknown_key(client, tenant):
    response = client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY="nope.nope")
    assert response.status_code == 401
    assert response.json() == {"message": "UnAuthorized, Please Provide Valid API Key"}


def test_it_refuses_a_key_with_the_right_prefix_and_a_wrong_secret(client, tenant):
    prefix = tenant.api_key.partition(".")[0]
    response = client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=f"{prefix}.wrong")
    assert response.status_code == 401


def test_it_refuses_a_revoked_key(client, tenant):
    OrganizationAPIKey.objects.filter(organization=tenant.organization).update(revoked=True)
    response = client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key)
    assert response.status_code == 401
    assert response.json()["message"] == "UnAuthorized, Please Provide Valid API Key"


def test_it_accepts_the_header_in_any_case(client, tenant):
    response = client.get("/superfone/sfvopi/apps", headers={"x-api-key": tenant.api_key})
    assert response.status_code == 200


def test_it_records_when_a_key_was_last_used(client, tenant):
    client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key)
    assert OrganizationAPIKey.objects.get(organization=tenant.organization).last_used_at is not None


def test_a_key_revoked_through_the_service_is_refused_at_once(client, tenant):
    from tenants.services import api_key_revoke

    assert client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key).status_code == 200
    api_key_revoke(key=OrganizationAPIKey.objects.get(organization=tenant.organization))
    assert client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key).status_code == 401


def test_a_key_revoked_elsewhere_is_refused_once_the_cache_lapses(client, tenant, settings):
    settings.API_KEY_CACHE_SECONDS = 0.2
    assert client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key).status_code == 200
    # Another process revoked it: this one still trusts its recent check for a moment.
    OrganizationAPIKey.objects.filter(organization=tenant.organization).update(revoked=True)
    import time

    time.sleep(0.25)
    assert client.get("/superfone/sfvopi/apps", HTTP_X_API_KEY=tenant.api_key).status_code == 401
