"""Idempotency-Key on POST /superfone/sfvopi/calls."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls import idempotency
from calls.models import Call, IdempotencyKey
from tests.conftest import race

pytestmark = pytest.mark.django_db(transaction=True)


def body(tenant, to="+918000000001"):
    return {"from": tenant.from_number, "to": to, "answer_url": "https://customer.example.com/answer"}


def create(client, data, key):
    return client.post("/superfone/sfvopi/calls", data, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_it_replays_the_first_answer_for_the_same_key_and_body(tenant):
    first = create(tenant.api, body(tenant), "order-42")
    again = create(tenant.api, body(tenant), "order-42")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Call.objects.count() == 1


def test_it_refuses_the_same_key_with_a_different_body(tenant):
    create(tenant.api, body(tenant), "order-42")
    response = create(tenant.api, body(tenant, to="+918000000002"), "order-42")
    assert response.status_code == 422
    assert response.json() == {"message": "Idempotency-Key was already used with a different request body"}
    assert Call.objects.count() == 1


def test_keys_belong_to_one_organization(tenant, other_tenant):
    create(tenant.api, body(tenant), "shared-key")
    response = create(other_tenant.api, body(other_tenant), "shared-key")
    assert "Idempotent-Replayed" not in response
    assert Call.objects.count() == 2


def test_a_refused_request_does_not_use_up_its_key(tenant):
    bad = create(tenant.api, {**body(tenant), "from": "+918000000555"}, "retry-me")
    assert bad.status_code == 400
    assert create(tenant.api, {**body(tenant), "from": "+918000000555"}, "retry-me").status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_a_key_expires_after_24_hours(tenant):
    create(tenant.api, body(tenant), "daily")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    response = create(tenant.api, body(tenant, to="+918000000002"), "daily")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert Call.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency.expired_keys_delete() == 1


def test_it_refuses_an_overlong_key(tenant):
    response = create(tenant.api, body(tenant), "k" * 256)
    assert response.status_code == 400
    assert not Call.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real race needs PostgreSQL (set DATABASE_URL)")
def test_fifty_racing_requests_with_one_key_place_one_call(tenant, settings):
    settings.CALL_CREATE_RATE = "1000/s"
    # A client told 503 (the pool ran dry) sends again: the key still gives every client the one call.
    responses = race(tenant, 50, lambda client, _: create(client, body(tenant), "race"))

    assert Call.objects.count() == 1
    assert {status for status, _ in responses} == {200}
    assert len({str(payload) for _, payload in responses}) == 1


def test_the_rest_api_create_honours_the_key_too(tenant):
    data = body(tenant)
    first = tenant.api.post("/api/v1/calls", data, format="json", HTTP_IDEMPOTENCY_KEY="crm-1")
    again = tenant.api.post("/api/v1/calls", data, format="json", HTTP_IDEMPOTENCY_KEY="crm-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    conflict = tenant.api.post(
        "/api/v1/calls", body(tenant, to="+918000000002"), format="json", HTTP_IDEMPOTENCY_KEY="crm-1"
    )
    assert conflict.status_code == 422
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    # The two APIs keep separate keys.
    assert create(tenant.api, data, "crm-1").status_code == 200
    assert Call.objects.count() == 2


@pytest.mark.parametrize("key", ["é-key", "tab\tinside", "x" * 256])
def test_it_refuses_a_key_outside_the_documented_form(tenant, key):
    response = create(tenant.api, body(tenant), key)

    assert response.status_code == 400
    assert response.json() == {"message": "Idempotency-Key must be 1-255 printable ASCII characters"}
    assert not Call.objects.exists()
