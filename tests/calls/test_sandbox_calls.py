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
