import pytest

from calls import services
from calls.models import LinkedNumber

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_app(tenant):
    return services.app_create(organization=tenant.organization, name="Sales", answer_url="https://x.example.com/a")


def test_it_lists_an_apps_numbers(tenant):
    response = tenant.api.get(f"/superfone/sfvopi/apps/{tenant.app.app_id}/numbers")
    [link] = response.json()["data"]
    assert link["voip_number"] == tenant.from_number
    assert link["app_id"] == tenant.app.app_id
    assert link["org_id"] == tenant.organization.pk
    assert link["status"] == "ACTIVE"


def test_it_links_a_number_given_in_any_usual_spelling(tenant, second_app):
    LinkedNumber.objects.create(organization=tenant.organization, number="+918000000099")
    response = tenant.api.post(
        f"/superfone/sfvopi/apps/{second_app.app_id}/numbers", {"voip_number": "+91 80000-00099"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["voip_number"] == "+918000000099"
    assert LinkedNumber.objects.get(number="+918000000099").app == second_app


def test_it_refuses_a_malformed_number(tenant):
    response = tenant.api.post(
        f"/superfone/sfvopi/apps/{tenant.app.app_id}/numbers", {"voip_number": "call me"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"
    assert "voip_number" in response.json()["errors"]


def test_it_refuses_a_number_the_organization_does_not_own(tenant, other_tenant):
    response = tenant.api.post(
        f"/superfone/sfvopi/apps/{tenant.app.app_id}/numbers", {"voip_number": other_tenant.from_number},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"message": "VoIP number not found or does not belong to this org"}
    assert LinkedNumber.objects.get(number=other_tenant.from_number).app == other_tenant.app


def test_it_refuses_a_number_linked_to_another_app(tenant, second_app):
    response = tenant.api.post(
        f"/superfone/sfvopi/apps/{second_app.app_id}/numbers", {"voip_number": tenant.from_number}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {"message": "VoIP number is already linked to another SFVoPI app"}


def test_it_unlinks_with_the_plus_url_encoded(tenant):
    encoded = tenant.from_number.replace("+", "%2B")
    response = tenant.api.delete(f"/superfone/sfvopi/apps/{tenant.app.app_id}/numbers/{encoded}")
    assert response.json() == {"data": {"deleted": True}, "message": "success"}
    assert tenant.api.get(f"/superfone/sfvopi/apps/{tenant.app.app_id}/numbers").json()["data"] == []


def test_it_says_when_the_number_is_not_linked_to_the_app(tenant, second_app):
    encoded = tenant.from_number.replace("+", "%2B")
    response = tenant.api.delete(f"/superfone/sfvopi/apps/{second_app.app_id}/numbers/{encoded}")
    assert response.status_code == 404
    assert response.json() == {"message": "Number not linked to this app"}


def test_it_hides_another_organizations_app_numbers(tenant, other_tenant):
    response = tenant.api.get(f"/superfone/sfvopi/apps/{other_tenant.app.app_id}/numbers")
    assert response.status_code == 404
