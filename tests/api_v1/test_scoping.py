"""Every /api/v1 endpoint, given another organization's id, answers 404 and changes nothing."""

import pytest

from calls.models import Call, LinkedNumber, SfvopiApp, WebhookDelivery

pytestmark = pytest.mark.django_db

CROSS_ORGANIZATION = [
    ("get", "/api/v1/calls/{call}", None),
    ("post", "/api/v1/calls/{call}/hangup", None),
    ("get", "/api/v1/agents/{agent}", None),
    ("patch", "/api/v1/agents/{agent}", {"is_active": False}),
    ("post", "/api/v1/agents/{agent}/deactivate", None),
    ("get", "/api/v1/agents/{agent}/state", None),
    ("get", "/api/v1/apps/{app}", None),
    ("patch", "/api/v1/apps/{app}", {"name": "stolen"}),
    ("delete", "/api/v1/apps/{app}", None),
    ("get", "/api/v1/numbers/{number}", None),
    ("delete", "/api/v1/numbers/{number}", None),
    ("post", "/api/v1/numbers/{number}/link", {"app_id": "{own_app}"}),
    ("post", "/api/v1/numbers/{number}/unlink", None),
    ("post", "/api/v1/webhook-deliveries/{delivery}/redeliver", None),
]


def _fill(text, tenant, other_tenant, foreign):
    return text.format(
        call=foreign.call.request_uuid,
        agent=foreign.agent.pk,
        app=other_tenant.app.app_id,
        number=LinkedNumber.objects.get(number=other_tenant.from_number).pk,
        delivery=foreign.delivery.webhook_id,
        own_app=tenant.app.app_id,
    )


def _snapshot(other_tenant, foreign):
    foreign.agent.refresh_from_db()
    return (
        Call.objects.get(pk=foreign.call.pk).status,
        foreign.agent.is_active,
        SfvopiApp.objects.filter(pk=other_tenant.app.pk).values_list("name", flat=True).first(),
        LinkedNumber.objects.filter(number=other_tenant.from_number).values_list("app_id", flat=True).first(),
        WebhookDelivery.objects.get(pk=foreign.delivery.pk).state,
    )


@pytest.mark.parametrize("method,path,body", CROSS_ORGANIZATION, ids=[f"{m} {p}" for m, p, _ in CROSS_ORGANIZATION])
def test_it_answers_404_for_another_organizations_objects(tenant, other_tenant, own, foreign, method, path, body):
    before = _snapshot(other_tenant, foreign)
    url = _fill(path, tenant, other_tenant, foreign)
    data = {k: _fill(v, tenant, other_tenant, foreign) if isinstance(v, str) else v for k, v in (body or {}).items()}

    response = getattr(tenant.api, method)(url, data, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"].endswith("not_found")
    assert _snapshot(other_tenant, foreign) == before


LISTS = [
    ("/api/v1/calls", "request_uuid", lambda t, rows: rows.call.request_uuid),
    ("/api/v1/agents", "id", lambda t, rows: rows.agent.pk),
    ("/api/v1/apps", "app_id", lambda t, rows: t.app.app_id),
    ("/api/v1/numbers", "number", lambda t, rows: rows.spare_number.number),
    ("/api/v1/webhook-deliveries", "webhook_id", lambda t, rows: rows.delivery.webhook_id),
]


@pytest.mark.parametrize("url,key,value_of", LISTS, ids=[url for url, _, _ in LISTS])
def test_it_lists_only_the_keys_organization(tenant, other_tenant, own, foreign, url, key, value_of):
    listed = [row[key] for row in tenant.api.get(url).json()["results"]]

    assert value_of(tenant, own) in listed
    assert value_of(other_tenant, foreign) not in listed


def test_it_does_not_link_a_number_to_another_organizations_app(tenant, other_tenant, own):
    response = tenant.api.post(
        f"/api/v1/numbers/{own.spare_number.pk}/link", {"app_id": other_tenant.app.app_id}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "app_not_found"
    own.spare_number.refresh_from_db()
    assert own.spare_number.app_id is None


def test_it_does_not_create_a_number_under_another_organizations_app(tenant, other_tenant):
    response = tenant.api.post(
        "/api/v1/numbers", {"number": "+917000099999", "app_id": other_tenant.app.app_id}, format="json"
    )

    assert response.status_code == 404
    assert not LinkedNumber.objects.filter(number="+917000099999").exists()


def test_it_filters_calls_by_another_organizations_agent_to_nothing(tenant, own, foreign):
    Call.objects.filter(pk=foreign.call.pk).update(agent=foreign.agent)

    response = tenant.api.get("/api/v1/calls", {"agent": foreign.agent.pk})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_it_does_not_place_calls_from_another_organizations_number(tenant, other_tenant):
    response = tenant.api.post(
        "/api/v1/calls",
        {"from": other_tenant.from_number, "to": "+918000000222", "answer_url": "https://customer.example.com/a"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "number_not_linked"
    assert not Call.objects.filter(to_number="+918000000222").exists()
