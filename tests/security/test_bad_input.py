"""Hostile or careless input answers 4xx in the envelope of the API it was sent to, never 5xx."""

import pytest
from django.contrib.auth import get_user_model

from calls import admin as calls_admin
from calls.models import CarrierAccount
from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def _api(tenant):
    tenant.api.raise_request_exception = False
    return tenant.api


@pytest.mark.parametrize("path", ["/superfone/sfvopi/calls", "/superfone/sfvopi/apps", "/api/v1/calls", "/api/v1/apps"])
def test_deeply_nested_json_is_a_400(tenant, path):
    response = _api(tenant).post(path, DEEP, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "malformed_request" if path.startswith("/api/v1") else "message" in body


def test_an_oversized_body_is_a_413_in_each_envelope(tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = '{"to": "' + "9" * 5000 + '"}'

    v1 = _api(tenant).post("/api/v1/calls", big, content_type="application/json")
    sfvopi = _api(tenant).post("/superfone/sfvopi/calls", big, content_type="application/json")

    assert v1.status_code == 413 and v1.json()["error"]["code"] == "payload_too_large"
    assert sfvopi.status_code == 413 and sfvopi.json() == {"message": "The request body is too large."}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/calls/ab%00cd", "/superfone/sfvopi/apps/ab%00cd", "/superfone/sfvopi/calls/a%01b", "/api/v1/apps/x%7f"],
)
def test_control_characters_in_a_path_id_are_not_found(tenant, path):
    response = _api(tenant).get(path)

    # Nothing is named with control characters: 404, in the API's own envelope.
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "not_found" if path.startswith("/api/v1/") else "message" in body


@pytest.mark.parametrize("path", ["/api/v1/calls?from_number=a%00", "/superfone/sfvopi/calls?status=%00"])
def test_control_characters_in_an_api_query_are_a_400(tenant, path):
    assert _api(tenant).get(path).status_code == 400


@pytest.mark.parametrize("cursor", ["zzzz", "cD0yMDI0", "cD14eXo="])
def test_a_tampered_cursor_is_a_400(tenant, cursor):
    response = _api(tenant).get("/api/v1/calls", {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"cursor": ["This cursor is not valid; use a next or previous link."]}


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/calls/x/y/z", "/superfone/nothing", "/superfone/sfvopi/x/y/z"])
def test_unknown_api_posts_answer_json_404_not_a_csrf_page(path):
    response = client_for(enforce_csrf_checks=True).post(path, {"a": "b"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_an_unknown_method_is_a_json_405(tenant):
    response = _api(tenant).put("/api/v1/calls", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_callbacks_with_nul_in_the_path_or_nested_json_are_4xx(vobiz_account):
    token = vobiz_account.callback_token
    client = client_for()

    assert client.post(f"/webhooks/vobiz/{token}/ab%00c/hangup/", {}).status_code == 404
    assert client.post("/webhooks/vobiz/a%00b/x/hangup/", {}).status_code == 404
    deep = client.post(f"/webhooks/superfone/{token}/abc/hangup/", DEEP, content_type="application/json")
    assert 400 <= deep.status_code < 500


def test_the_console_refuses_nested_json_with_a_400(agent):
    response = client_for(agent.user).post("/console/start", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"message": "Send JSON with a customer_number"}


def test_admin_autocomplete_works_for_a_nul_term(tenant):
    admin = client_for(get_user_model().objects.create_superuser("root", "root@example.com", "x" * 12))

    response = admin.get(
        "/admin/autocomplete/", {"term": "\x00", "app_label": "calls", "model_name": "linkednumber", "field_name": "app"}
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(tenant.app.pk)]


def test_an_admin_save_conflict_is_a_form_error(tenant, vobiz_account, monkeypatch):
    # The form's own check passes (as when another save lands between check and write);
    # the database's constraint then refuses, and the page shows it on the form.
    monkeypatch.setattr(calls_admin.CarrierAccountForm, "clean", lambda form: form.cleaned_data)
    admin = client_for(get_user_model().objects.create_superuser("root", "root@example.com", "x" * 12))

    response = admin.post("/admin/calls/carrieraccount/add/", {
        "name": "second", "kind": "vobiz", "organization": tenant.organization.pk,
        "base_url": "https://api.vobiz.example", "caller_id": "+918000099998", "is_default": "on",
        "calls_per_second": "1", "max_concurrent_calls": "1", "new_credentials": "",
    })

    assert response.status_code == 200
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert CarrierAccount.objects.filter(organization=tenant.organization).count() == 1
