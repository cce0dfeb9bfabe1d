"""Vobiz against its local fake: the make-call request, signed callbacks, XML answers, retries, hang-up."""

from xml.etree import ElementTree

import pytest

from calls import lifecycle, placement
from calls.media import bridge
from calls.models import Call, CallEvent
from tests.carriers.conftest import (
    CALLER_ID,
    PUBLIC_BASE_URL,
    placed,
    queue_call,
    queue_click_to_call,
)
from tests.carriers.fakes import Reply
from tests.conftest import STREAM_JSON

pytestmark = pytest.mark.django_db(transaction=True)



def test_it_places_a_call_with_the_documented_request(tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    tenant.app.caller_name = "Acme Support"
    tenant.app.send_digits = "1w2"
    tenant.app.machine_detection = "hangup"
    tenant.app.save()
    call = queue_call(tenant, webhook_server)
    body = placed(vobiz, call, run_tasks)

    request = vobiz.seen[0]
    assert (request.method, request.path) == ("POST", f"/api/v1/Account/{vobiz.auth_id}/Call/")
    assert request.content_type == "application/json"
    prefix = f"{PUBLIC_BASE_URL}/webhooks/vobiz/{vobiz_account.callback_token}/{call.request_uuid}/"
    assert body == {
        "from": tenant.from_number[1:], "to": "918000000001",
        "answer_url": prefix + "answer/", "answer_method": "POST",
        "ring_url": prefix + "ring/", "ring_method": "POST",
        "hangup_url": prefix + "hangup/", "hangup_method": "POST",
        "fallback_url": prefix + "fallback/", "fallback_method": "POST",
        "time_limit": 14400, "hangup_on_ring": 60,
        "caller_name": "Acme Support", "send_digits": "1w2", "machine_detection": "hangup",
    }
    assert call.status == "queued" and call.carrier == "vobiz"


def test_it_drives_the_lifecycle_from_ring_answer_and_hangup_callbacks(
    client, tenant, vobiz, vobiz_account, webhook_server, run_tasks
):
    call = queue_call(tenant, webhook_server)
    body = placed(vobiz, call, run_tasks)
    uuid = call.carrier_call_id

    assert vobiz.callback(client, body["ring_url"], vobiz.params(uuid, "Ring")).status_code == 204
    run_tasks()
    answer = vobiz.callback(client, body["answer_url"], vobiz.params(uuid, "StartApp"))
    # No thread of ours waits on the customer: Vobiz is told to hold and ask again.
    assert answer.status_code == 200 and answer["Content-Type"] == "application/xml"
    held = ElementTree.fromstring(answer.content)
    assert held.find("Wait").attrib == {"length": "1"}
    assert held.find("Redirect").text == body["answer_url"]
    assert webhook_server.paths() == ["/ring"]
    run_tasks()  # the worker asks the customer's answer URL
    answer = vobiz.follow(client, answer, uuid)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/xml"
    stream = ElementTree.fromstring(answer.content).find("Stream")
    # Vobiz streams to our bridge, which speaks SFVoPI to the customer's URL (tests/media/test_bridge.py).
    assert stream.text == bridge.bridge_url(call)
    assert stream.text.startswith(f"wss://cc.example.com/ws/media/")
    assert stream.attrib == {"bidirectional": "true", "audioTrack": "inbound", "contentType": "audio/x-mulaw;rate=8000",
                             "streamTimeout": "86400", "keepCallAlive": "true"}
    call.refresh_from_db()
    assert call.status == "in_progress"

    hangup = vobiz.params(uuid, "Hangup", HangupCause="NORMAL_CLEARING", Duration="42", BillDuration="60")
    assert vobiz.callback(client, body["hangup_url"], hangup).status_code == 204
    # Vobiz repeats itself and its Ring may arrive late: neither moves the call.
    assert vobiz.callback(client, body["hangup_url"], hangup).status_code == 204
    assert vobiz.callback(client, body["ring_url"], vobiz.params(uuid, "Ring")).status_code == 204
    run_tasks()

    call.refresh_from_db()
    assert (call.status, call.duration, call.hangup_cause) == ("completed", 42, "16")
    assert webhook_server.paths() == ["/ring", "/answer", "/hangup"]
    assert webhook_server.received[2].body["call_status"] == "COMPLETED"
    ignored = CallEvent.objects.filter(call=call, applied=False).values_list("status", flat=True)
    assert sorted(ignored) == ["completed", "ringing"]


def test_it_ends_an_unanswered_call_by_its_hangup_cause(client, tenant, vobiz, vobiz_account, webhook_server,
                                                        run_tasks):
    call = queue_call(tenant, webhook_server)
    body = placed(vobiz, call, run_tasks)
    vobiz.callback(client, body["ring_url"], vobiz.params(call.carrier_call_id, "Ring"))
    vobiz.callback(client, body["hangup_url"], vobiz.params(call.carrier_call_id, "Hangup", HangupCause="USER_BUSY",
                                                             Duration="0"))
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("busy", "17")


def test_it_refuses_forged_replayed_and_tokenless_callbacks(client, tenant, vobiz, vobiz_account, webhook_server,
                                                            run_tasks):
    call = queue_call(tenant, webhook_server)
    body = placed(vobiz, call, run_tasks)
    ring = vobiz.params(call.carrier_call_id, "Ring")
    url = body["ring_url"]

    forged = vobiz.sign(url, "12345678901234567890", token="someone-elses-token")
    assert vobiz.callback(client, url, ring, headers=forged).status_code == 403
    assert vobiz.callback(client, url, ring, headers={}).status_code == 403
    # Signed for another call's URL: the signature covers the URL.
    other = url.replace(call.request_uuid, "sfv_ob_req_000000000000")
    assert vobiz.callback(client, url, ring, headers=vobiz.sign(other, "12345678901234567891")).status_code == 403
    wrong_token = url.replace(vobiz_account.callback_token, "not-the-token")
    assert vobiz.callback(client, wrong_token, ring).status_code == 403
    call.refresh_from_db()
    assert call.status == "queued" and not CallEvent.objects.filter(call=call).exists()

    assert vobiz.callback(client, url, ring, nonce="11112222333344445555").status_code == 204
    replay = vobiz.params(call.carrier_call_id, "Hangup", Duration="0")
    assert vobiz.callback(client, body["hangup_url"], replay, nonce="11112222333344445555").status_code == 403
    assert vobiz.callback(client, body["hangup_url"], replay, nonce="99998888777766665555").status_code == 204
    assert vobiz.callback(client, body["hangup_url"], replay, nonce="99998888777766665555").status_code == 403
    call.refresh_from_db()
    assert CallEvent.objects.filter(call=call).count() == 2


def test_it_retries_429_and_5xx_while_the_call_stays_queued(tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    vobiz.script = [Reply(429, {"error": "cps exceeded"}, {"Retry-After": "1"}), Reply(503, {"error": "busy"})]
    call = queue_call(tenant, webhook_server)
    run_tasks()
    call.refresh_from_db()
    assert call.status == "queued" and "HTTP 429" in call.carrier_error

    run_tasks(wait=5)
    call.refresh_from_db()
    assert [request.path for request in vobiz.seen] == [f"/api/v1/Account/{vobiz.auth_id}/Call/"] * 3
    assert vobiz.seen[1].at - vobiz.seen[0].at >= 1  # Retry-After honoured
    assert call.status == "queued" and call.carrier_call_id in vobiz.calls and call.carrier_attempts == 3


def test_it_fails_the_call_with_the_carriers_error_when_retries_run_out(
    tenant, vobiz, vobiz_account, webhook_server, run_tasks, monkeypatch, caplog
):
    monkeypatch.setattr(placement, "MAX_PLACE_ATTEMPTS", 3)
    vobiz.script = [Reply(502, {"error": "upstream gateway down"})] * 3
    call = queue_call(tenant, webhook_server)
    run_tasks(wait=5)

    call.refresh_from_db()
    assert call.status == "failed" and len(vobiz.seen) == 3
    # Customers read carrier_error: our words and the status; the carrier's text is for staff.
    assert "HTTP 502" in call.carrier_error and "upstream gateway down" not in call.carrier_error
    assert "upstream gateway down" in call.carrier_response
    assert all("upstream gateway down" not in event.note for event in call.events.all())
    assert webhook_server.paths() == ["/hangup"]
    for text in (call.carrier_error, caplog.text, str(vobiz_account), repr(vobiz_account)):
        assert vobiz.auth_token not in text and vobiz.auth_id not in text


def test_it_does_not_retry_a_refusal(tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    vobiz_account.credentials = {"auth_id": vobiz.auth_id, "auth_token": "wrong"}
    vobiz_account.save()
    call = queue_call(tenant, webhook_server)
    run_tasks(wait=1)
    call.refresh_from_db()
    assert call.status == "failed" and "HTTP 401" in call.carrier_error and len(vobiz.seen) == 1


def test_it_hangs_up_with_delete_on_the_call(tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    call = queue_call(tenant, webhook_server)
    placed(vobiz, call, run_tasks)
    lifecycle.end(call.pk, source="api")
    run_tasks()
    request = vobiz.seen[-1]
    assert (request.method, request.path) == ("DELETE", f"/api/v1/Account/{vobiz.auth_id}/Call/{call.carrier_call_id}/")
    assert vobiz.problems == []


def test_it_bridges_a_click_to_call_with_a_dial_of_the_customer(
    client, tenant, vobiz, vobiz_account, agent, run_tasks
):
    call = queue_click_to_call(tenant, vobiz_account, agent)
    body = placed(vobiz, call, run_tasks)
    assert (body["from"], body["to"]) == (CALLER_ID[1:], agent.number[1:])

    vobiz.callback(client, body["ring_url"], vobiz.params(call.carrier_call_id, "Ring"))
    answer = vobiz.callback(client, body["answer_url"], vobiz.params(call.carrier_call_id, "StartApp"))
    dial = ElementTree.fromstring(answer.content).find("Dial")
    assert dial.attrib["callerId"] == CALLER_ID[1:] and dial.find("Number").text == "918000000001"
    assert (dial.attrib["timeout"], dial.attrib["timeLimit"]) == ("45", "600")
    call.refresh_from_db()
    assert call.status == "ringing"  # the agent picked up; the customer has not yet

    vobiz.callback(client, dial.attrib["callbackUrl"], {"DialAction": "answer", "DialBLegStatus": "answer",
                                                        "DialALegUUID": call.carrier_call_id})
    call.refresh_from_db()
    assert call.status == "in_progress"
    done = vobiz.callback(client, dial.attrib["action"], {"DialStatus": "completed", "DialHangupCause": "NORMAL_CLEARING",
                                                          "DialALegUUID": call.carrier_call_id})
    assert ElementTree.fromstring(done.content).find("Hangup") is not None
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("completed", "16")
    assert Call.objects.get(pk=call.pk).agent_id == agent.pk
