import pytest

from calls.models import LinkedNumber, SfvopiApp

pytestmark = pytest.mark.django_db


def test_it_creates_changes_and_deletes_an_app(tenant):
    created = tenant.api.post(
        "/api/v1/apps", {"name": "CRM", "answer_url": "https://crm.example.com/answer"}, format="json"
    )
    app_id = created.json()["app_id"]
    changed = tenant.api.patch(f"/api/v1/apps/{app_id}", {"status": "INACTIVE"}, format="json")
    deleted = tenant.api.delete(f"/api/v1/apps/{app_id}")

    assert created.status_code == 201
    assert created.json()["webhook_secret"].startswith("whsec_")
    assert changed.json()["status"] == "INACTIVE"
    assert changed.json()["name"] == "CRM"
    assert deleted.status_code == 204
    assert not SfvopiApp.objects.filter(app_id=app_id).exists()


def test_it_returns_numbers_to_the_pool_when_their_app_is_deleted(tenant):
    tenant.api.delete(f"/api/v1/apps/{tenant.app.app_id}")

    number = LinkedNumber.objects.get(number=tenant.from_number)
    assert number.app_id is None


def test_it_adds_links_unlinks_and_removes_a_number(tenant):
    created = tenant.api.post("/api/v1/numbers", {"number": "07000 012345"}, format="json")
    number_id = created.json()["id"]
    linked = tenant.api.post(f"/api/v1/numbers/{number_id}/link", {"app_id": tenant.app.app_id}, format="json")
    app = tenant.api.get(f"/api/v1/apps/{tenant.app.app_id}").json()
    unlinked = tenant.api.post(f"/api/v1/numbers/{number_id}/unlink")
    removed = tenant.api.delete(f"/api/v1/numbers/{number_id}")

    assert created.status_code == 201
    assert created.json()["number"] == "+917000012345"
    assert linked.json()["app_id"] == tenant.app.app_id
    assert "+917000012345" in app["numbers"]
    assert unlinked.json()["app_id"] is None
    assert removed.status_code == 204
    assert not LinkedNumber.objects.filter(number="+917000012345").exists()


def test_it_refuses_a_number_already_registered(tenant, other_tenant):
    response = tenant.api.post("/api/v1/numbers", {"number": other_tenant.from_number}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "number_taken"
    assert LinkedNumber.objects.get(number=other_tenant.from_number).organization == other_tenant.organization


def test_it_refuses_to_link_a_number_linked_to_another_app(tenant):
    second = SfvopiApp.objects.create(
        organization=tenant.organization, name="Second", answer_url="https://x.example.com/a"
    )
    number_id = LinkedNumber.objects.get(number=tenant.from_number).pk

    response = tenant.api.post(f"/api/v1/numbers/{number_id}/link", {"app_id": second.app_id}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "number_linked_elsewhere"
