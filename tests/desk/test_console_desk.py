"""The console's desk endpoints: state, disposition, screen pop, history, contacts, callbacks."""

import json
from datetime import timedelta

from django.utils import timezone

from agents import desk as desk_services
from calls import lifecycle
from calls.models import CallStatus
from tests.desk.conftest import desk, organization_zone


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies.get("csrftoken").value if client.cookies.get("csrftoken")
                       else "")


def _csrf(client):
    client.get("/console/")
    return client


def test_the_console_pauses_is_refused_start_and_resumes(agent_client, agent, reasons):
    client = _csrf(agent_client)
    paused = post(client, "/console/agent-state", {"state": "paused", "pause_reason_id": reasons["Break"].pk})
    assert paused.json()["agent_state"]["label"] == "Paused"
    refused = post(client, "/console/start", {"customer_number": "+918000000111"})
    assert refused.status_code == 409
    assert refused.json()["message"] == "The agent is Paused (Break), not Available: no call can be started"
    assert post(client, "/console/agent-state", {"state": "available"}).json()["agent_state"]["state"] == "available"
    state = client.get("/console/state").json()
    assert state["agent_state"]["state"] == "available"
    assert [r["name"] for r in state["pause_reasons"]] == ["Break", "Lunch", "Training"]


def test_screen_pop_history_and_disposition(agent_client, agent, tenant, outcomes):
    desk(tenant, crm_link_template="https://crm.example.com/contacts/{external_id}", disposition_required=True)
    desk_services.contact_save(organization=tenant.organization, name="Priya Shah", numbers=["+918000000111"],
                               external_id="C-7")
    client = _csrf(agent_client)
    call_uuid = post(client, "/console/start", {"customer_number": "+918000000111"}).json()["call"]["request_uuid"]
    pop = client.get("/console/pop?number=%2B918000000111").json()
    assert pop["contact"]["name"] == "Priya Shah"
    assert pop["crm_link"] == "https://crm.example.com/contacts/C-7"
    assert [c["request_uuid"] for c in pop["recent"]] == [call_uuid]

    from calls.models import Call

    lifecycle.transition(Call.objects.get(request_uuid=call_uuid).pk, CallStatus.COMPLETED, source="test")
    assert client.get("/console/state").json()["agent_state"]["state"] == "wrap_up"
    saved = post(client, "/console/disposition",
                 {"call_uuid": call_uuid, "disposition_id": outcomes["sale"].pk, "note": "Two seats"})
    assert saved.status_code == 200 and saved.json()["agent_state"]["state"] == "available"

    history = client.get("/console/history?q=priya").json()
    assert [(c["request_uuid"], c["contact_name"], c["disposition"]["label"], c["disposition"]["note"])
            for c in history["calls"]] == [(call_uuid, "Priya Shah", "Sale", "Two seats")]
    assert client.get("/console/history?disposition=not_interested").json()["calls"] == []
    found = client.get("/console/contacts?q=shah").json()["contacts"][0]
    assert (found["numbers"], found["do_not_call"]) == (["+918000000111"], [])


def test_contact_search_marks_the_numbers_on_the_do_not_call_list(agent_client, agent, tenant):
    from calls import services as call_services

    desk_services.contact_save(organization=tenant.organization, name="Priya Shah",
                               numbers=["+918000000111", "+918000000112"])
    call_services.do_not_call_add(organization_id=tenant.organization.pk, number="+918000000112")
    client = _csrf(agent_client)

    found = client.get("/console/contacts?q=shah").json()["contacts"][0]

    assert (found["numbers"], found["do_not_call"]) == (["+918000000111", "+918000000112"], ["+918000000112"])
    refused = post(client, "/console/start", {"customer_number": "+918000000112"})
    assert refused.status_code == 400
    assert refused.json()["message"] == "+918000000112 is on the organization's do-not-call list"


def test_a_callback_is_scheduled_from_the_console_and_reminded(agent_client, agent, tenant):
    organization_zone(tenant, "Asia/Kolkata")
    client = _csrf(agent_client)
    due = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_fixed_timezone(330))
    made = post(client, "/console/callbacks", {"number": "+918000000111", "due_at": due.strftime("%Y-%m-%dT%H:%M"),
                                               "note": "Quote"})
    assert made.status_code == 200, made.json()
    assert made.json()["callback"]["due_local"] == due.strftime("%Y-%m-%d %H:%M")
    callback_id = made.json()["callback"]["id"]
    state = client.get("/console/state").json()
    assert [c["id"] for c in state["callbacks"]] == [callback_id]
    assert state["settings"]["time_zone"] == "Asia/Kolkata"
    assert state["callbacks"][0]["time_zone"] == "Asia/Kolkata"
    # Not due yet: no reminder.
    assert desk_services.callback_reminder_send(callback_id=callback_id) is False
    assert post(client, f"/console/callbacks/{callback_id}/done", {}).json()["callback"]["status"] == "done"


def test_bad_console_input_is_refused_with_a_message(agent_client):
    client = _csrf(agent_client)
    for url, body in [("/console/agent-state", {"state": "on_call"}), ("/console/disposition", {"call_uuid": "x"}),
                      ("/console/callbacks", {"number": "+918000000111", "due_at": "soon"})]:
        response = post(client, url, body)
        assert 400 <= response.status_code < 500 and response.json()["message"]
    assert client.get("/console/pop?number=abc").status_code == 400


def test_the_console_extends_wrap_up_once(agent_client, agent, tenant):
    desk(tenant, wrap_up_seconds=30)
    client = _csrf(agent_client)
    call_uuid = post(client, "/console/start", {"customer_number": "+918000000111"}).json()["call"]["request_uuid"]
    from calls.models import Call

    lifecycle.transition(Call.objects.get(request_uuid=call_uuid).pk, CallStatus.COMPLETED, source="test")
    wrap = client.get("/console/state").json()["agent_state"]
    assert (wrap["state"], wrap["wrap_up_extended"]) == ("wrap_up", False)

    extended = post(client, "/console/wrap-up/extend", {})

    assert extended.status_code == 200
    assert extended.json()["agent_state"]["wrap_up_extended"] is True
    assert extended.json()["agent_state"]["wrap_up_until"] > wrap["wrap_up_until"]
    again = post(client, "/console/wrap-up/extend", {})
    assert again.status_code == 409
    assert again.json()["message"] == "Wrap-up can be extended once, while its time runs"
