"""CallAPI (Restcomm) against its local fake: Calls.json, status callbacks in and out of order, RCML, hang-up."""

from xml.etree import ElementTree

import pytest

from calls import lifecycle
from calls.models import CallEvent
from tests.carriers.conftest import (
    CALLER_ID,
    PUBLIC_BASE_URL,
    placed,
    queue_call,
    queue_click_to_call,
)
from tests.carriers.fakes import Reply

pytestmark = pytest.mark.django_db(transaction=True)



def test_it_places_a_click_to_call_with_the_documented_form(tenant, callapi, callapi_account, agent, run_tasks):
    call = queue_click_to_call(tenant, callapi_account, agent)
    form = placed(callapi, call, run_tasks)

    request = callapi.seen[0]
    assert (request.method, request.path) == ("POST", f"/call/2012-04-24/Accounts/{callapi.account_sid}/Calls.json")
    prefix = f"{PUBLIC_BASE_URL}/webhooks/callapi/{callapi_account.callback_token}/{call.request_uuid}/"
    assert form == {
        "From": CALLER_ID, "To": agent.number, "Url": prefix + "control/", "Method": "POST",
        "FallbackUrl": prefix + "fallback/", "FallbackMethod": "POST",
        "StatusCallback": prefix + "status/", "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "initiated,ringing,answered,completed", "Timeout": "45",
    }


def test_it_refuses_sfvopi_calls_it_cannot_stream(tenant, callapi, callapi_account, webhook_server, run_tasks):
    call = queue_call(tenant, webhook_server)
    run_tasks()
    call.refresh_from_db()
    assert call.status == "failed" and "cannot stream" in call.carrier_error and callapi.seen == []


def test_it_orders_status_callbacks_by_sequence_number(client, tenant, callapi, callapi_account, agent, run_tasks):
    call = queue_click_to_call(tenant, callapi_account, agent)
    placed(callapi, call, run_tasks)
    sid = call.carrier_call_id

    assert callapi.status(client, sid, "initiated", 0).status_code == 204
    assert callapi.status(client, sid, "ringing", 1).status_code == 204
    rcml = callapi.fetch_rcml(client, sid)
    assert rcml.status_code == 200 and rcml["Content-Type"] == "application/xml"
    dial = ElementTree.fromstring(rcml.content).find("Dial")
    number = dial.find("Number")
    assert dial.attrib["callerId"] == CALLER_ID and number.text == "+918000000001"
    assert number.attrib["statusCallbackEvent"] == "ringing answered completed"

    # The customer's leg reports on its own URL, with its own sequence.
    assert callapi.status(client, sid, "in-progress", 1, url=number.attrib["statusCallback"],
                          CallSid="CA" + "f" * 32).status_code == 204
    call.refresh_from_db()
    assert call.status == "in_progress"

    # completed (3) overtakes answered (2): the late one must not move the call back.
    assert callapi.status(client, sid, "completed", 3, CallDuration="30").status_code == 204
    assert callapi.status(client, sid, "in-progress", 2).status_code == 204
    assert callapi.status(client, sid, "completed", 3, CallDuration="30").status_code == 204
    call.refresh_from_db()
    assert (call.status, call.duration, call.carrier_sequence) == ("completed", 30, 3)
    stale = CallEvent.objects.filter(call=call, applied=False)
    assert [event.note for event in stale] == ["stale: sequence 3 after 3"]


def test_it_ignores_a_late_ringing_after_the_call_ended(client, tenant, callapi, callapi_account, agent, run_tasks):
    call = queue_click_to_call(tenant, callapi_account, agent)
    placed(callapi, call, run_tasks)
    callapi.status(client, call.carrier_call_id, "no-answer", 2)
    callapi.status(client, call.carrier_call_id, "ringing", 1)
    call.refresh_from_db()
    assert call.status == "no_answer"
    assert CallEvent.objects.get(call=call, applied=False).note == "stale: sequence 1 after 2"


def test_it_retries_a_5xx_and_then_places(tenant, callapi, callapi_account, agent, run_tasks):
    callapi.script = [Reply(500, {"message": "internal"}), Reply(429, {"message": "slow down"})]
    call = queue_click_to_call(tenant, callapi_account, agent)
    placed(callapi, call, run_tasks, wait=3)
    assert len(callapi.seen) == 3 and call.status == "queued" and call.carrier_attempts == 3


def test_it_cancels_before_answer_and_completes_after(client, tenant, callapi, callapi_account, agent, run_tasks):
    first = queue_click_to_call(tenant, callapi_account, agent)
    placed(callapi, first, run_tasks)
    lifecycle.end(first.pk, source="api")
    run_tasks()
    request = callapi.seen[-1]
    assert request.path.endswith(f"/Calls/{first.carrier_call_id}") and request.form() == {"Status": "canceled"}

    second = queue_click_to_call(tenant, callapi_account, agent, to="+918000000002")
    placed(callapi, second, run_tasks)
    number = ElementTree.fromstring(callapi.fetch_rcml(client, second.carrier_call_id).content).find("Dial/Number")
    callapi.status(client, second.carrier_call_id, "in-progress", 0, url=number.attrib["statusCallback"])
    lifecycle.end(second.pk, source="api")
    run_tasks()
    assert callapi.seen[-1].form() == {"Status": "completed"} and callapi.problems == []


def test_it_refuses_a_callback_without_our_token(client, tenant, callapi, callapi_account, agent, run_tasks):
    call = queue_click_to_call(tenant, callapi_account, agent)
    form = placed(callapi, call, run_tasks)
    form["StatusCallback"] = form["StatusCallback"].replace(callapi_account.callback_token, "guess")
    assert callapi.status(client, call.carrier_call_id, "ringing", 1).status_code == 403
    call.refresh_from_db()
    assert call.status == "queued" and not CallEvent.objects.filter(call=call).exists()
