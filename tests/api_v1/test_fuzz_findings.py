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
