"""Inputs schemathesis found that once broke an endpoint, kept as regressions."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_refuses_an_sfvopi_page_too_far_for_the_database(tenant):
    response = tenant.api.get("/superfone/sfvopi/calls", {"page": "10232161444963136045056", "page_size": "-5"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"page": ["page must be at most 10000000."]}


def test_it_answers_a_v1_id_too_large_for_the_database_with_404(tenant):
    response = tenant.api.post(f"/api/v1/numbers/{2**64}/link", {"app_id": tenant.app.app_id}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "number_not_found"


@pytest.mark.parametrize("page_size", ["0", "101", "null", "-5"])
def test_it_refuses_a_page_size_outside_its_documented_range(tenant, page_size):
    response = tenant.api.get("/api/v1/calls", {"page_size": page_size})

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["page_size"]


def test_it_refuses_an_empty_filter_rather_than_ignoring_it(tenant):
    response = tenant.api.get("/api/v1/webhook-deliveries", {"state": ""})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"state": ["This filter may not be empty."]}


@pytest.mark.parametrize("path", ["/api/v1/apps", "/superfone/sfvopi/apps"])
def test_it_takes_only_json_booleans_in_a_json_body(tenant, path):
    body = {"name": "x", "answer_url": "https://crm.example.com/answer", "retry_webhooks": "yes"}

    refused = tenant.api.post(path, body, format="json")
    body["retry_webhooks"] = True
    accepted = tenant.api.post(path, body, format="json")

    assert refused.status_code == 400
    assert accepted.status_code in (200, 201)
