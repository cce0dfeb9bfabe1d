from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from calls.models import Call, CallEvent
from tests.api_v1.conftest import make_call

pytestmark = pytest.mark.django_db


def test_it_places_a_call_with_the_sfvopi_rules(tenant):
    response = tenant.api.post(
        "/api/v1/calls",
        {"from": tenant.from_number, "to": "080 0000 0333", "answer_url": "https://customer.example.com/a"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["to"] == "+918000000333"
    assert body["app_id"] == tenant.app.app_id
    assert Call.objects.get(request_uuid=body["request_uuid"]).organization == tenant.organization


def test_it_explains_invalid_call_input_in_the_envelope(tenant):
    response = tenant.api.post("/api/v1/calls", {"from": "nope", "answer_url": "ftp://x"}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"from", "to", "answer_url"}


def test_it_rejects_malformed_json_in_the_envelope(tenant):
    response = tenant.api.generic("POST", "/api/v1/calls", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_it_pages_through_calls_with_a_cursor(tenant):
    made = [make_call(tenant, to=f"+91800000{i:04d}").request_uuid for i in range(5)]

    seen, url = [], "/api/v1/calls?page_size=2"
    while url:
        page = tenant.api.get(url).json()
        seen += [row["request_uuid"] for row in page["results"]]
        url = page["next"]

    assert seen == list(reversed(made))


def test_it_pages_through_calls_with_next_cursor(tenant):
    made = [make_call(tenant, to=f"+91800000{i:04d}").request_uuid for i in range(5)]

    seen, params = [], {"page_size": 2}
    while True:
        page = tenant.api.get("/api/v1/calls", params).json()
        seen += [row["request_uuid"] for row in page["results"]]
        if page["next_cursor"] is None:
            assert page["next"] is None
            break
        assert f"cursor={page['next_cursor']}" in page["next"]
        params = {"page_size": 2, "cursor": page["next_cursor"]}

    assert seen == list(reversed(made))


def test_it_refuses_a_forged_cursor(tenant):
    response = tenant.api.get("/api/v1/calls", {"cursor": "garbage"})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"cursor": ["This cursor is not valid; use a next or previous link."]}


def test_it_filters_calls(tenant, own):
    old = make_call(tenant, to="+918000000444")
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3), status="completed")
    agents_call = make_call(tenant, to="+918000000555", agent=own.agent)

    def listed(**params):
        return {row["request_uuid"] for row in tenant.api.get("/api/v1/calls", params).json()["results"]}

    assert listed(status="completed") == {old.request_uuid}
    assert listed(agent=own.agent.pk) == {agents_call.request_uuid}
    assert listed(to="08000000555") == {agents_call.request_uuid}
    assert listed(created_before=(timezone.now() - timedelta(days=1)).isoformat()) == {old.request_uuid}
    assert old.request_uuid not in listed(created_after=(timezone.now() - timedelta(days=1)).isoformat())
    assert listed(app="sfv_app_none") == set()


def test_it_rejects_unknown_filter_values(tenant):
    response = tenant.api.get("/api/v1/calls", {"status": "exploded", "agent": "x"})

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"status", "agent"}


def test_it_shows_a_call_with_its_events(tenant, own):
    tenant.api.post(f"/api/v1/calls/{own.call.request_uuid}/hangup")

    body = tenant.api.get(f"/api/v1/calls/{own.call.request_uuid}").json()

    assert body["status"] == "canceled"
    assert [(e["previous_status"], e["status"], e["applied"]) for e in body["events"]] == [
        ("queued", "canceled", True)
    ]


def test_it_hangs_up_a_live_call_once(tenant, own):
    first = tenant.api.post(f"/api/v1/calls/{own.call.request_uuid}/hangup")
    second = tenant.api.post(f"/api/v1/calls/{own.call.request_uuid}/hangup")

    assert first.status_code == 200
    assert first.json()["status"] == "canceled"
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "call_ended"
    assert CallEvent.objects.filter(call=own.call, applied=True).count() == 1


def test_it_limits_call_creation_per_organization(tenant, settings):
    settings.CALL_CREATE_RATE = "1/m"
    cache.clear()
    body = {"from": tenant.from_number, "to": "+918000000666", "answer_url": "https://customer.example.com/a"}

    first = tenant.api.post("/api/v1/calls", body, format="json")
    second = tenant.api.post("/api/v1/calls", body, format="json")
    cache.clear()

    assert first.status_code == 201
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(second["Retry-After"]) <= 60
    assert Call.objects.filter(to_number="+918000000666").count() == 1
