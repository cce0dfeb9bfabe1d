"""Superfone upstream against its local fake: /sfvopi/calls, its webhooks relayed, click-2-call."""

from datetime import timedelta

import pytest

from calls import services
from calls.models import Call
from calls.representations import call_public
from tests.carriers.conftest import (
    PUBLIC_BASE_URL,
    placed,
    queue_call,
    queue_click_to_call,
)
from tests.carriers.fakes import Reply
from tests.conftest import STREAM_JSON

pytestmark = pytest.mark.django_db(transaction=True)



def test_it_forwards_an_sfvopi_call_with_our_callback_urls(tenant, superfone, superfone_account, webhook_server,
                                                           run_tasks):
    call = queue_call(tenant, webhook_server)
    body = placed(superfone, call, run_tasks)
    request = superfone.seen[0]
    assert (request.method, request.path, request.content_type) == ("POST", "/superfone/sfvopi/calls",
                                                                     "application/json")
    prefix = f"{PUBLIC_BASE_URL}/webhooks/superfone/{superfone_account.callback_token}/{call.request_uuid}/"
    assert body == {
        "from": tenant.from_number, "to": "+918000000001",
        "answer_url": prefix + "answer/", "answer_method": "POST",
        "ring_url": prefix + "ring/", "ring_method": "POST",
        "hangup_url": prefix + "hangup/", "hangup_method": "POST",
        "call_time_limit": 14400, "ring_timeout": 60,
    }


def test_it_relays_superfones_webhooks_to_the_customer(client, tenant, superfone, superfone_account, webhook_server,
                                                       run_tasks):
    call = queue_call(tenant, webhook_server)
    placed(superfone, call, run_tasks)
    uuid = call.carrier_call_id

    assert superfone.webhook(client, uuid, "ring", call_status="RINGING").status_code == 204
    run_tasks()
    answer = superfone.webhook(client, uuid, "answer", call_status="IN_PROGRESS",
                               answered_at="2026-02-02T10:00:05.000Z")
    assert answer.status_code == 200
    assert answer.json()["stream"]["url"] == STREAM_JSON["stream"]["url"]
    hangup = {"call_status": "COMPLETED", "duration": 42, "hangup_cause": "16"}
    assert superfone.webhook(client, uuid, "hangup", **hangup).status_code == 204
    assert superfone.webhook(client, uuid, "hangup", **hangup).status_code == 204
    run_tasks()

    call.refresh_from_db()
    assert (call.status, call.duration, call.hangup_cause) == ("completed", 42, "16")
    assert webhook_server.paths() == ["/ring", "/answer", "/hangup"]
    assert webhook_server.received[1].body["request_uuid"] == call.request_uuid  # ours, not Superfone's


def test_it_answers_502_when_the_customer_gives_no_stream(client, tenant, superfone, superfone_account,
                                                          webhook_server, run_tasks):
    webhook_server.responses["/answer"] = (500, {"error": "down"}, 0)
    call = queue_call(tenant, webhook_server)
    placed(superfone, call, run_tasks)
    answer = superfone.webhook(client, call.carrier_call_id, "answer", call_status="IN_PROGRESS")
    assert answer.status_code == 502
    call.refresh_from_db()
    assert call.status == "failed"


def test_it_retries_superfones_500_and_then_places(tenant, superfone, superfone_account, webhook_server, run_tasks):
    superfone.script = [Reply(500, {"message": "Failed to initiate outbound call"})]
    call = queue_call(tenant, webhook_server)
    placed(superfone, call, run_tasks, wait=2)
    assert len(superfone.seen) == 2


def test_it_forwards_click_to_call_start_and_end(tenant, superfone, superfone_account, agent, run_tasks):
    call = queue_click_to_call(tenant, superfone_account, agent)
    run_tasks()
    call.refresh_from_db()
    assert call.carrier_call_id == "notification-12345"
    # Superfone reports nothing about click-to-call calls: we say so instead of guessing.
    assert call_public(call)["progress_known"] is False
    assert call.deadline_at > call.created_at + timedelta(seconds=call.call_time_limit - 60)
    ended = services.call_hangup(call=call)
    assert (ended.status, ended.hangup_cause) == ("ended", "16")
    run_tasks()
    start, end = superfone.seen
    assert start.path == end.path == "/superfone/api/customer/click-2-call"
    assert start.query == {"customer_number": ["+918000000001"], "user_number": [agent.number],
                           "call_action": ["START"]}
    assert end.query["call_action"] == ["END"] and superfone.problems == []


def test_it_refuses_webhooks_without_our_token(client, tenant, superfone, superfone_account, webhook_server,
                                               run_tasks):
    call = queue_call(tenant, webhook_server)
    body = placed(superfone, call, run_tasks)
    body["ring_url"] = body["ring_url"].replace(superfone_account.callback_token, "x" * 32)
    assert superfone.webhook(client, call.carrier_call_id, "ring", call_status="RINGING").status_code == 403
    call.refresh_from_db()
    assert call.status == "queued"


def test_it_refuses_to_hang_up_an_sfvopi_call_it_cannot_end_upstream(tenant, superfone, superfone_account,
                                                                    webhook_server, run_tasks):
    call = queue_call(tenant, webhook_server)
    placed(superfone, call, run_tasks)
    response = tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}")

    assert response.status_code == 409
    assert "offers no hang-up" in response.json()["message"]
    # Not reported as ended while the real call goes on.
    assert Call.objects.get(pk=call.pk).status == "queued"
    assert call_public(Call.objects.get(pk=call.pk))["progress_known"] is True
