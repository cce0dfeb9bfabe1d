"""/api/v1 for the desk: agent state, click-to-call for an agent, contacts, dispositions, callbacks."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from agents import services
from agents.models import Callback, CallDisposition, Contact
from calls import lifecycle
from calls.models import CallStatus
from tests.desk.conftest import organization_zone


def test_an_agents_state_is_read_and_set_with_a_pause_reason(tenant, agent, reasons):
    url = f"/api/v1/agents/{agent.pk}/state"
    paused = tenant.api.put(url, {"state": "paused", "pause_reason_id": reasons["Break"].pk}, format="json")
    assert paused.status_code == 200
    assert (paused.json()["state"], paused.json()["pause_reason"]) == ("paused", "Break")

    refused = tenant.api.post(f"/api/v1/agents/{agent.pk}/calls", {"to": "+918000000111"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "agent_not_available"

    assert tenant.api.put(url, {"state": "available"}, format="json").json()["state"] == "available"
    started = tenant.api.post(f"/api/v1/agents/{agent.pk}/calls", {"to": "+918000000111"}, format="json")
    assert started.status_code == 201
    assert tenant.api.get(url).json()["state"] == "on_call"


@pytest.mark.parametrize("body", [{"state": "on_call"}, {"state": "paused"}, {"state": "sleeping"},
                                  {"state": "paused", "pause_reason_id": 999999}])
def test_bad_state_changes_are_refused_in_the_envelope(tenant, agent, body):
    response = tenant.api.put(f"/api/v1/agents/{agent.pk}/state", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_another_organizations_agent_is_not_found(tenant, other_agent):
    response = tenant.api.put(f"/api/v1/agents/{other_agent.pk}/state", {"state": "offline"}, format="json")
    assert response.status_code == 404


def test_contacts_are_created_searched_and_numbers_stay_unique(tenant, other_tenant):
    created = tenant.api.post("/api/v1/contacts", {"name": "Priya Shah", "numbers": ["+91 98765 43210"],
                                                   "company": "Kite", "tags": ["vip"]}, format="json")
    assert created.status_code == 201
    assert created.json()["numbers"] == ["+919876543210"]

    clash = tenant.api.post("/api/v1/contacts", {"name": "Other", "numbers": ["+919876543210"]}, format="json")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "contact_number_taken"
    # Another organization may have the same number for its own contact.
    assert other_tenant.api.post("/api/v1/contacts", {"name": "Theirs", "numbers": ["+919876543210"]},
                                 format="json").status_code == 201

    assert [c["name"] for c in tenant.api.get("/api/v1/contacts?q=kite").json()["results"]] == ["Priya Shah"]
    assert [c["name"] for c in tenant.api.get("/api/v1/contacts?q=43210").json()["results"]] == ["Priya Shah"]
    contact_id = created.json()["id"]
    assert other_tenant.api.get(f"/api/v1/contacts/{contact_id}").status_code == 404
    assert tenant.api.put(f"/api/v1/contacts/{contact_id}", {"name": "Priya S", "numbers": ["+919876543211"]},
                          format="json").json()["numbers"] == ["+919876543211"]
    assert tenant.api.delete(f"/api/v1/contacts/{contact_id}").status_code == 204
    assert not Contact.objects.filter(pk=contact_id).exists()


def test_a_finished_call_gets_a_disposition_from_its_own_organization(tenant, other_tenant, agent, outcomes):
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    url = f"/api/v1/calls/{call.request_uuid}/disposition"
    live = tenant.api.put(url, {"disposition_id": outcomes["sale"].pk}, format="json")
    assert live.status_code == 409
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")

    from agents.models import Disposition

    theirs = Disposition.objects.create(organization=other_tenant.organization, code="sale", label="Sale")
    foreign = tenant.api.put(url, {"disposition_id": theirs.pk}, format="json")
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "disposition_invalid"

    saved = tenant.api.put(url, {"disposition_id": outcomes["sale"].pk, "note": "Two seats"}, format="json")
    assert saved.status_code == 200
    assert saved.json()["disposition"]["label"] == "Sale" and saved.json()["note"] == "Two seats"
    assert tenant.api.get(url).json()["note"] == "Two seats"
    assert other_tenant.api.put(url, {"disposition_id": theirs.pk}, format="json").status_code == 404
    assert CallDisposition.objects.get(call=call).agent_id == agent.pk


def test_callbacks_are_scheduled_in_the_organizations_time_zone(tenant, agent):
    organization_zone(tenant, "Asia/Kolkata")
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(UTC).date()
    response = tenant.api.post("/api/v1/callbacks", {
        "agent_id": agent.pk, "number": "+918000000111", "due_at": f"{tomorrow}T16:00:00", "note": "After lunch",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["due_local"] == f"{tomorrow} 16:00"
    assert body["due_at"] == f"{tomorrow}T10:30:00.000Z"
    listed = tenant.api.get(f"/api/v1/callbacks?agent_id={agent.pk}").json()["results"]
    assert [c["id"] for c in listed] == [body["id"]]
    done = tenant.api.post(f"/api/v1/callbacks/{body['id']}/done")
    assert done.json()["status"] == "done"
    assert Callback.objects.get(pk=body["id"]).status == "done"


def test_a_callback_in_the_past_is_refused(tenant, agent):
    response = tenant.api.post("/api/v1/callbacks", {
        "agent_id": agent.pk, "number": "+918000000111", "due_at": "2001-01-01T10:00:00Z"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "callback_in_past"
