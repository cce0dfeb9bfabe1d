"""What a supervisor does from the admin: keys, agents, numbers, credentials, and calls."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from agents import services as agent_services
from agents.models import Agent
from calls.models import (
    Call,
    CallEvent,
    CarrierAccount,
    LinkedNumber,
    SfvopiApp,
    WebhookDelivery,
)
from tenants.models import OrganizationAPIKey

pytestmark = pytest.mark.django_db


def run_action(client, page, action, objects):
    return client.post(
        f"/admin/{page}/", {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_it_shows_a_new_api_key_once_and_it_works(supervisor_client, tenant):
    response = supervisor_client.post("/admin/tenants/organizationapikey/add/", {"name": "CRM"}, follow=True)

    [shown] = [m for m in messages_of(response) if "will not be shown again" in m]
    raw_key = shown.split(" is ")[1].split(" ")[0]
    key = OrganizationAPIKey.objects.get(name="CRM")
    assert key.organization == tenant.organization
    assert raw_key.startswith(key.prefix + ".")
    assert raw_key not in supervisor_client.get(f"/admin/tenants/organizationapikey/{key.pk}/change/").content.decode()
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=raw_key)
    assert api.get("/api/v1/calls").status_code == 200


def test_it_revokes_keys(supervisor_client, mine, theirs):
    run_action(supervisor_client, "tenants/organizationapikey", "revoke_keys", [mine.api_key, theirs.api_key])

    mine.api_key.refresh_from_db()
    theirs.api_key.refresh_from_db()
    assert mine.api_key.revoked is True
    assert theirs.api_key.revoked is False


def test_it_adds_an_agent_to_the_supervisors_organization(supervisor_client, tenant):
    response = supervisor_client.post(
        "/admin/agents/agent/add/",
        {"username": "nadia", "password": "a-long-password", "number": "098000 77777", "click_to_call_enabled": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    agent = Agent.objects.get(user__username="nadia")
    assert (agent.organization, agent.number) == (tenant.organization, "+919800077777")
    assert agent.user.check_password("a-long-password")


def test_it_refuses_an_agent_number_taken_in_the_organization(supervisor_client, mine):
    response = supervisor_client.post(
        "/admin/agents/agent/add/",
        {"username": "dup", "password": "a-long-password", "number": mine.rows.agent.number},
    )

    assert response.status_code == 200
    assert "already uses" in response.content.decode()
    assert not Agent.objects.filter(user__username="dup").exists()


def test_it_shows_whether_an_agent_is_on_a_call(supervisor_client, mine):
    agent_services.agent_click_to_call(agent=mine.rows.agent, customer_number="+918000000111")

    html = supervisor_client.get("/admin/agents/agent/").content.decode()

    assert "On call" in html


def test_it_adds_and_links_a_number_through_the_services(supervisor_client, tenant):
    response = supervisor_client.post(
        "/admin/calls/linkednumber/add/", {"number": "07000 088888", "app": tenant.app.pk}
    )

    assert response.status_code == 302
    number = LinkedNumber.objects.get(number="+917000088888")
    assert (number.organization, number.app, number.linked_at is not None) == (tenant.organization, tenant.app, True)


def test_it_unlinks_numbers(supervisor_client, tenant, mine):
    linked = LinkedNumber.objects.get(number=tenant.from_number)

    run_action(supervisor_client, "calls/linkednumber", "unlink_numbers", [linked])

    linked.refresh_from_db()
    assert linked.app_id is None


def test_it_adds_an_app_to_the_supervisors_organization(supervisor_client, tenant, supervisor):
    response = supervisor_client.post(
        "/admin/calls/sfvopiapp/add/",
        {
            "name": "Floor app",
            "answer_url": "https://crm.example.com/answer",
            "answer_method": "POST",
            "hangup_method": "POST",
            "fallback_answer_method": "POST",
            "status": "ACTIVE",
            "numbers-TOTAL_FORMS": "0",
            "numbers-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    app = SfvopiApp.objects.get(name="Floor app")
    assert (app.organization, app.created_by) == (tenant.organization, supervisor)


def test_it_never_shows_carrier_credentials(supervisor_client, mine):
    listing = supervisor_client.get("/admin/calls/carrieraccount/").content.decode()
    form = supervisor_client.get(f"/admin/calls/carrieraccount/{mine.carrier.pk}/change/").content.decode()

    for secret in ("sekret-token-1", "MA1"):
        assert secret not in listing
        assert secret not in form
    assert "2 value(s) stored" in form


def _carrier_form(carrier, credentials):
    return {
        "name": carrier.name,
        "kind": carrier.kind,
        "base_url": "",
        "new_credentials": credentials,
        "caller_id": "",
        "calls_per_second": "1",
        "max_concurrent_calls": "10",
        "is_default": "on",
    }


def test_it_keeps_credentials_when_the_field_is_left_empty_and_replaces_them_when_given(supervisor_client, mine):
    url = f"/admin/calls/carrieraccount/{mine.carrier.pk}/change/"

    kept = supervisor_client.post(url, _carrier_form(mine.carrier, ""))
    mine.carrier.refresh_from_db()
    before = dict(mine.carrier.credentials)
    replaced = supervisor_client.post(url, _carrier_form(mine.carrier, '{"auth_id": "MA9", "auth_token": "new"}'))
    mine.carrier.refresh_from_db()

    assert (kept.status_code, replaced.status_code) == (302, 302)
    assert before == {"auth_id": "MA1", "auth_token": "sekret-token-1"}
    assert mine.carrier.credentials == {"auth_id": "MA9", "auth_token": "new"}


def test_it_refuses_credentials_that_are_not_a_json_object(supervisor_client, mine):
    response = supervisor_client.post(
        f"/admin/calls/carrieraccount/{mine.carrier.pk}/change/", _carrier_form(mine.carrier, "[1, 2]")
    )

    assert response.status_code == 200
    assert "must be a JSON object" in response.content.decode()
    assert CarrierAccount.objects.get(pk=mine.carrier.pk).credentials["auth_id"] == "MA1"


def test_it_shows_a_call_read_only_with_events_and_deliveries(supervisor_client, mine):
    html = supervisor_client.get(f"/admin/calls/call/{mine.rows.call.pk}/change/").content.decode()

    assert "View call" in html
    assert 'name="status"' not in html
    assert mine.rows.delivery.url in html
    assert "Events" in html


def test_it_does_not_let_anyone_edit_a_calls_status(supervisor_client, superuser_client, mine):
    for client in (supervisor_client, superuser_client):
        response = client.post(f"/admin/calls/call/{mine.rows.call.pk}/change/", {"status": "completed"})
        assert response.status_code == 403

    assert Call.objects.get(pk=mine.rows.call.pk).status == "queued"


def test_it_hangs_up_selected_live_calls_through_the_lifecycle(supervisor_client, mine, theirs):
    response = run_action(supervisor_client, "calls/call", "hang_up_calls", [mine.rows.call, theirs.rows.call])

    assert Call.objects.get(pk=mine.rows.call.pk).status == "canceled"
    assert Call.objects.get(pk=theirs.rows.call.pk).status == "queued"
    assert CallEvent.objects.get(call=mine.rows.call).source == "api"
    assert "Hung up 1 call(s); 0 had already ended." in messages_of(response)


def test_it_redelivers_failed_webhooks_of_selected_calls(supervisor_client, mine, theirs):
    run_action(supervisor_client, "calls/call", "redeliver_failed_webhooks", [mine.rows.call, theirs.rows.call])

    assert WebhookDelivery.objects.get(pk=mine.rows.delivery.pk).state == "pending"
    assert WebhookDelivery.objects.get(pk=theirs.rows.delivery.pk).state == "failed"


def test_it_redelivers_from_the_deliveries_page(supervisor_client, mine):
    run_action(supervisor_client, "calls/webhookdelivery", "redeliver", [mine.rows.delivery])

    assert WebhookDelivery.objects.get(pk=mine.rows.delivery.pk).state == "pending"


def test_it_filters_failed_deliveries(supervisor_client, mine):
    WebhookDelivery.objects.filter(pk=mine.rows.delivery.pk).update(state="delivered")

    response = supervisor_client.get("/admin/calls/webhookdelivery/", {"state__exact": "failed"})

    assert response.context["cl"].result_count == 0


def test_it_exports_selected_calls_to_csv(supervisor_client, mine, theirs):
    response = supervisor_client.post(
        "/admin/calls/call/",
        {"action": "export_csv", "_selected_action": [mine.rows.call.pk, theirs.rows.call.pk]},
    )

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"] == "text/csv"
    assert [row["request_uuid"] for row in rows] == [mine.rows.call.request_uuid]
    assert rows[0]["from"] == mine.tenant.from_number


def _app_form(app, **changes):
    fields = {
        "name": app.name, "answer_url": app.answer_url, "answer_method": app.answer_method,
        "hangup_url": app.hangup_url or "", "hangup_method": app.hangup_method,
        "fallback_answer_url": app.fallback_answer_url or "", "fallback_answer_method": app.fallback_answer_method,
        "status": app.status, "caller_name": "", "send_digits": "", "machine_detection": "",
        "numbers-TOTAL_FORMS": "0", "numbers-INITIAL_FORMS": "0",
    }
    return {**fields, **changes}


def test_an_app_edited_in_admin_changes_as_through_the_api(supervisor_client, tenant):
    app = tenant.app
    assert app.updated_at is None
    response = supervisor_client.post(f"/admin/calls/sfvopiapp/{app.pk}/change/", _app_form(app, name="Renamed"))

    assert response.status_code == 302, response.content.decode()[:3000]
    app.refresh_from_db()
    assert app.name == "Renamed"
    assert app.updated_at is not None  # the service stamps it, as PATCH /superfone/sfvopi/apps does
    body = tenant.api.get(f"/superfone/sfvopi/apps/{app.app_id}").json()["data"]
    assert body["name"] == "Renamed" and body["updated_at"] is not None


def test_an_app_added_in_admin_belongs_to_the_supervisor_and_records_its_creator(supervisor_client, supervisor,
                                                                               tenant):
    form = _app_form(tenant.app, name="Second line")
    response = supervisor_client.post("/admin/calls/sfvopiapp/add/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    app = SfvopiApp.objects.get(name="Second line")
    assert (app.organization, app.created_by) == (tenant.organization, supervisor)
    assert app.app_id.startswith("sfv_app_")


def test_a_second_default_carrier_account_is_a_form_error(supervisor_client, mine):
    response = supervisor_client.post("/admin/calls/carrieraccount/add/", {
        "name": "backup", "kind": "vobiz", "base_url": "", "caller_id": "", "calls_per_second": "1",
        "max_concurrent_calls": "10", "is_default": "on", "new_credentials": "",
    })

    assert response.status_code == 200
    assert "default carrier account already" in response.content.decode()
    assert CarrierAccount.objects.filter(organization=mine.tenant.organization).count() == 1
