"""POST /superfone/sfvopi/calls: validation, its messages, and what a queued call holds."""

import pytest

from calls.models import Call

pytestmark = pytest.mark.django_db


def body(tenant, **changes):
    data = {"from": tenant.from_number, "to": "+918000000001", "answer_url": "https://customer.example.com/answer"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def create(tenant, data):
    return tenant.api.post("/superfone/sfvopi/calls", data, format="json")


def test_it_queues_a_call_and_answers_with_the_documented_shape(tenant):
    response = create(tenant, body(tenant))
    assert response.status_code == 200
    data = response.json()["data"]
    assert response.json()["message"] == "success"
    assert data["status"] == "queued"
    assert data["request_uuid"].startswith("sfv_ob_req_")
    suffix = data["request_uuid"].removeprefix("sfv_ob_req_")
    assert len(suffix) == 12 and suffix == suffix.lower() and suffix.isalnum()
    call = Call.objects.get(request_uuid=data["request_uuid"])
    assert (call.call_time_limit, call.ring_timeout) == (14400, 60)
    assert call.carrier == "sandbox"


def test_it_normalizes_numbers_to_e164(tenant):
    response = create(tenant, body(tenant, **{"from": "+91 80000-00001", "to": "080000 00007"}))
    assert response.status_code == 200
    call = Call.objects.get()
    assert (call.from_number, call.to_number) == ("+918000000001", "+918000000007")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"from": None}, "from"),
        ({"to": None}, "to"),
        ({"answer_url": None}, "answer_url"),
        ({"to": "not-a-number"}, "to"),
        ({"to": "+1 23"}, "to"),
        ({"from": "+91abc"}, "from"),
        ({"answer_url": "notaurl"}, "answer_url"),
        ({"answer_url": "ftp://customer.example.com/a"}, "answer_url"),
        ({"ring_url": "nope"}, "ring_url"),
        ({"hangup_url": "nope"}, "hangup_url"),
        ({"answer_method": "DELETE"}, "answer_method"),
        ({"ring_method": "PUT"}, "ring_method"),
        ({"hangup_method": 5}, "hangup_method"),
        ({"call_time_limit": 0}, "call_time_limit"),
        ({"call_time_limit": 86401}, "call_time_limit"),
        ({"call_time_limit": "long"}, "call_time_limit"),
        ({"ring_timeout": 0}, "ring_timeout"),
        ({"ring_timeout": 601}, "ring_timeout"),
    ],
)
def test_it_refuses_an_invalid_body_with_the_field_errors(tenant, changes, field):
    response = create(tenant, body(tenant, **changes))
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"
    assert list(response.json()["errors"]) == [field]
    assert not Call.objects.exists()


def test_it_accepts_the_range_limits(tenant):
    assert create(tenant, body(tenant, call_time_limit=86400, ring_timeout=600)).status_code == 200
    assert create(tenant, body(tenant, call_time_limit=1, ring_timeout=1)).status_code == 200


def test_it_refuses_a_body_that_is_not_json(tenant):
    response = tenant.api.post("/superfone/sfvopi/calls", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"


def test_it_refuses_a_json_array(tenant):
    response = tenant.api.post("/superfone/sfvopi/calls", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"


def test_it_refuses_a_from_number_not_linked_to_an_app(tenant):
    response = create(tenant, body(tenant, **{"from": "+918000000555"}))
    assert response.status_code == 400
    assert response.json() == {"message": "VoIP number +918000000555 is not linked to any SFVoPI app for this org"}


def test_it_refuses_a_number_linked_to_an_inactive_app(tenant):
    tenant.app.status = "INACTIVE"
    tenant.app.save()
    response = create(tenant, body(tenant))
    assert response.status_code == 400
    assert "is not linked to any SFVoPI app for this org" in response.json()["message"]


def test_it_refuses_another_organizations_number(tenant, other_tenant):
    response = create(tenant, body(tenant, **{"from": other_tenant.from_number}))
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"VoIP number {other_tenant.from_number} is not linked to any SFVoPI app for this org"
    )


def test_it_takes_per_call_urls_over_the_apps(tenant):
    tenant.app.hangup_url = "https://customer.example.com/app-hangup"
    tenant.app.fallback_answer_url = "https://customer.example.com/fallback"
    tenant.app.save()
    create(tenant, body(tenant, hangup_url="https://customer.example.com/call-hangup", hangup_method="GET"))
    create(tenant, body(tenant))
    overridden, inherited = Call.objects.order_by("id")
    assert (overridden.hangup_url, overridden.hangup_method) == ("https://customer.example.com/call-hangup", "GET")
    assert inherited.hangup_url == "https://customer.example.com/app-hangup"
    assert inherited.fallback_answer_url == "https://customer.example.com/fallback"


def test_it_refuses_webhooks_aimed_inside_our_network(tenant, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    for url in ("http://127.0.0.1/a", "http://169.254.169.254/latest", "http://10.0.0.5/a", "http://localhost/a"):
        response = create(tenant, body(tenant, answer_url=url))
        assert response.status_code == 400, url
        assert "answer_url" in response.json()["errors"]
    assert not Call.objects.exists()


def test_it_reads_and_lists_calls_of_this_organization_only(tenant, other_tenant):
    mine = create(tenant, body(tenant)).json()["data"]["request_uuid"]
    theirs = create(other_tenant, body(other_tenant)).json()["data"]["request_uuid"]
    listed = tenant.api.get("/superfone/sfvopi/calls").json()
    assert [call["request_uuid"] for call in listed["data"]] == [mine]
    assert listed["has_more"] is False
    detail = tenant.api.get(f"/superfone/sfvopi/calls/{mine}").json()["data"]
    assert detail["status"] == "queued" and detail["from"] == tenant.from_number
    assert tenant.api.get(f"/superfone/sfvopi/calls/{theirs}").status_code == 404
    assert tenant.api.delete(f"/superfone/sfvopi/calls/{theirs}").status_code == 404
    assert Call.objects.get(request_uuid=theirs).status == "queued"


def test_it_pages_the_call_list(tenant):
    for _ in range(3):
        create(tenant, body(tenant))
    first = tenant.api.get("/superfone/sfvopi/calls?page_size=2").json()
    second = tenant.api.get("/superfone/sfvopi/calls?page_size=2&page=2").json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    assert len(second["data"]) == 1 and second["has_more"] is False
    assert tenant.api.get("/superfone/sfvopi/calls?page=x").status_code == 400


def test_it_limits_how_fast_one_organization_creates_calls(tenant, other_tenant, settings):
    settings.CALL_CREATE_RATE = "3/m"
    statuses = [create(tenant, body(tenant)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = create(tenant, body(tenant))
    assert limited.json() == {"message": "Too many requests, retry later"}
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert Call.objects.filter(organization=tenant.organization).count() == 3
    # Another organization has its own allowance.
    assert create(other_tenant, body(other_tenant)).status_code == 200
