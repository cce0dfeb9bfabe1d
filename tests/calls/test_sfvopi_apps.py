import pytest

from calls.models import LinkedNumber, SfvopiApp

pytestmark = pytest.mark.django_db


def test_it_creates_an_app_with_the_documented_defaults(tenant):
    response = tenant.api.post(
        "/superfone/sfvopi/apps", {"name": "Support", "answer_url": "https://x.example.com/a"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "success"
    app = body["data"]
    assert app["app_id"].startswith("sfv_app_") and len(app["app_id"]) == len("sfv_app_") + 12
    assert app["org_id"] == tenant.organization.pk
    assert app["answer_method"] == "POST"
    assert app["hangup_url"] is None and app["hangup_method"] == "POST"
    assert app["fallback_answer_url"] is None and app["fallback_answer_method"] == "POST"
    assert app["status"] == "ACTIVE"
    assert app["updated_at"] is None
    assert app["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"answer_url": "https://x.example.com/a"}, "name"),
        ({"name": "", "answer_url": "https://x.example.com/a"}, "name"),
        ({"name": "n" * 101, "answer_url": "https://x.example.com/a"}, "name"),
        ({"name": "Support"}, "answer_url"),
        ({"name": "Support", "answer_url": "not a url"}, "answer_url"),
        ({"name": "Support", "answer_url": "ftp://x.example.com/a"}, "answer_url"),
        ({"name": "Support", "answer_url": "https://x.example.com/a", "answer_method": "PUT"}, "answer_method"),
        ({"name": "Support", "answer_url": "https://x.example.com/a", "hangup_url": "nope"}, "hangup_url"),
    ],
)
def test_it_refuses_an_invalid_app(tenant, body, field):
    response = tenant.api.post("/superfone/sfvopi/apps", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"
    assert field in response.json()["errors"]
    assert SfvopiApp.objects.filter(organization=tenant.organization).count() == 1


def test_it_lists_only_this_organizations_apps_newest_first(tenant, other_tenant):
    tenant.api.post("/superfone/sfvopi/apps", {"name": "Second", "answer_url": "https://x.example.com/a"},
                    format="json")
    names = [app["name"] for app in tenant.api.get("/superfone/sfvopi/apps").json()["data"]]
    assert names == ["Second", "Acme app"]


def test_it_reads_one_app_and_hides_other_organizations_apps(tenant, other_tenant):
    assert tenant.api.get(f"/superfone/sfvopi/apps/{tenant.app.app_id}").json()["data"]["name"] == "Acme app"
    response = tenant.api.get(f"/superfone/sfvopi/apps/{other_tenant.app.app_id}")
    assert response.status_code == 404
    assert response.json() == {"message": "SFVoPI app not found"}


def test_it_patches_only_the_given_fields(tenant):
    url = f"/superfone/sfvopi/apps/{tenant.app.app_id}"
    response = tenant.api.patch(url, {"hangup_url": "https://x.example.com/h", "hangup_method": "get"}, format="json")
    assert response.status_code == 200
    app = response.json()["data"]
    assert app["name"] == "Acme app"
    assert app["hangup_url"] == "https://x.example.com/h" and app["hangup_method"] == "GET"
    assert app["updated_at"] is not None


def test_it_replaces_the_app_on_put(tenant):
    url = f"/superfone/sfvopi/apps/{tenant.app.app_id}"
    tenant.api.patch(url, {"hangup_url": "https://x.example.com/h"}, format="json")
    response = tenant.api.put(url, {"name": "Renamed", "answer_url": "https://y.example.com/a"}, format="json")
    app = response.json()["data"]
    assert app["name"] == "Renamed" and app["hangup_url"] is None


def test_it_can_deactivate_an_app(tenant):
    url = f"/superfone/sfvopi/apps/{tenant.app.app_id}"
    assert tenant.api.patch(url, {"status": "INACTIVE"}, format="json").json()["data"]["status"] == "INACTIVE"


def test_it_deletes_an_app_and_returns_its_numbers_to_the_pool(tenant):
    response = tenant.api.delete(f"/superfone/sfvopi/apps/{tenant.app.app_id}")
    assert response.json() == {"data": {"deleted": True}, "message": "success"}
    assert not SfvopiApp.objects.filter(pk=tenant.app.pk).exists()
    assert LinkedNumber.objects.get(number=tenant.from_number).app is None


def test_it_does_not_delete_another_organizations_app(tenant, other_tenant):
    response = tenant.api.delete(f"/superfone/sfvopi/apps/{other_tenant.app.app_id}")
    assert response.status_code == 404
    assert SfvopiApp.objects.filter(pk=other_tenant.app.pk).exists()
