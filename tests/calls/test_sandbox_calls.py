"""Each sandbox outcome, end to end: API request, simulated network, customer webhooks."""

import pytest

from calls.models import Call, CallEvent

pytestmark = pytest.mark.django_db(transaction=True)


def place(tenant, webhook_server, to, **extra):
    body = {
        "from": tenant.from_number,
        "to": to,
        "answer_url": webhook_server.url("/answer"),
        "ring_url": webhook_server.url("/ring"),
        "hangup_url": webhook_server.url("/hangup"),
        **extra,
    }
    response = tenant.api.post("/superfone/sfvopi/calls", body, format="json")
    assert response.status_code == 200, response.content
    return Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])


def test_it_runs_an_answered_call_through_ring_answer_and_hangup_webhooks(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    run_tasks(wait=3)

    call.refresh_from_db()
    assert call.status == "completed"
    assert call.hangup_cause == "16"
    assert call.stream["codec"] == "PCMA"
    assert webhook_server.paths() == ["/ring", "/answer", "/hangup"]
    ring, answer, hangup = (r.body for r in webhook_server.received)
    assert ring == {
        "call_uuid": call.call_uuid,
        "request_uuid": call.request_uuid,
        "from": tenant.from_number,
        "to": "+918000000001",
        "direction": "OUTBOUND",
        "call_status": "RINGING",
        "started_at": ring["started_at"],
    }
    assert answer["call_status"] == "IN_PROGRESS" and answer["answered_at"].endswith("Z")
    assert hangup["call_status"] == "COMPLETED"
    assert set(hangup) == {"call_uuid", "request_uuid", "from", "to", "direction", "call_status", "duration",
                           "started_at", "answer_at", "ended_at", "hangup_cause"}
    assert [e.status for e in CallEvent.objects.filter(call=call, applied=True)] == [
        "ringing", "answered", "in_progress", "completed"]


def test_it_reports_a_busy_callee(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000005")
    run_tasks(wait=1)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause, call.duration) == ("busy", "17", 0)
    assert webhook_server.paths() == ["/hangup"]
    hangup = webhook_server.received[0].body
    assert hangup["call_status"] == "BUSY" and "answer_at" not in hangup


def test_it_ends_an_unanswered_call_at_its_ring_timeout(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000006", ring_timeout=1)
    run_tasks(wait=3)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("no_answer", "19")
    assert webhook_server.paths() == ["/ring", "/hangup"]
    assert webhook_server.received[1].body["call_status"] == "NO_ANSWER"
    assert call.events.filter(source="timer", applied=True).exists()


def test_it_fails_an_unreachable_number(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000007")
    run_tasks(wait=1)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("failed", "41")
    assert webhook_server.paths() == ["/hangup"]


def test_it_cuts_a_call_at_its_time_limit(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000008", call_time_limit=1)
    run_tasks(wait=4)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("completed", "31")
    assert call.duration >= 1
    assert webhook_server.paths() == ["/ring", "/answer", "/hangup"]


def test_it_tries_the_fallback_answer_url_when_the_answer_url_fails(tenant, webhook_server, run_tasks):
    tenant.app.fallback_answer_url = webhook_server.url("/fallback-answer")
    tenant.app.save()
    webhook_server.responses["/answer"] = (500, {"error": "down"}, 0)
    call = place(tenant, webhook_server, "+918000000001")
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed"
    assert call.stream["url"] == "wss://media.example.com/ws"
    assert webhook_server.paths() == ["/ring", "/answer", "/fallback-answer", "/hangup"]
    answer = call.deliveries.get(kind="answer")
    assert (answer.state, answer.response_code, answer.error) == ("failed", 500, "HTTP 500")


def test_it_fails_the_call_when_no_answer_url_gives_valid_stream_json(tenant, webhook_server, run_tasks):
    tenant.app.fallback_answer_url = webhook_server.url("/fallback-answer")
    tenant.app.save()
    webhook_server.responses["/answer"] = (200, {"stream": {"url": "https://not-a-websocket"}}, 0)
    webhook_server.responses["/fallback-answer"] = (200, b"<Response/>", 0)
    call = place(tenant, webhook_server, "+918000000001")
    run_tasks(wait=3)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("failed", "41")
    assert "stream.url" in call.deliveries.get(kind="answer").error
    assert webhook_server.received[-1].body["call_status"] == "FAILED"
    assert webhook_server.received[-1].body["answer_at"]


def test_it_sends_get_webhooks_as_query_parameters(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000005", hangup_method="GET")
    run_tasks(wait=1)
    [hangup] = webhook_server.received
    assert hangup.method == "GET" and hangup.raw == b""
    assert hangup.body["request_uuid"] == call.request_uuid and hangup.body["call_status"] == "BUSY"


def test_it_hangs_up_a_ringing_call_as_canceled(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000006")
    run_tasks()
    response = tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "canceled"
    run_tasks(wait=1)
    assert webhook_server.paths() == ["/ring", "/hangup"]
    assert webhook_server.received[-1].body["call_status"] == "CANCELED"
    again = tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}")
    assert again.status_code == 409


def test_it_hangs_up_an_answered_call_as_completed(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000008")
    run_tasks(wait=1)
    call.refresh_from_db()
    assert call.status == "in_progress"
    response = tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}")
    assert response.json()["data"]["status"] == "completed"
    assert response.json()["data"]["hangup_cause"] == "16"


def test_it_cancels_a_queued_call_before_the_carrier_sees_it(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    assert tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}").json()["data"]["status"] == "canceled"
    run_tasks(wait=1)
    call.refresh_from_db()
    assert call.status == "canceled" and call.carrier_call_id == ""
    assert webhook_server.paths() == ["/hangup"]
