"""DIDforSale against its local fake: CallTermination, secretKey-checked callbacks of both legs."""

import pytest

from calls.models import CallEvent
from tests.carriers.conftest import (
    PUBLIC_BASE_URL,
    placed,
    queue_call,
    queue_click_to_call,
)
from tests.carriers.fakes import Reply

pytestmark = pytest.mark.django_db(transaction=True)



def test_it_places_a_click_to_call_with_the_documented_post(tenant, didforsale, didforsale_account, agent, run_tasks):
    call = queue_click_to_call(tenant, didforsale_account, agent)
    form = placed(didforsale, call, run_tasks)

    request = didforsale.seen[0]
    assert (request.method, request.path) == ("POST", "/didforsaleapi/index.php/api/V2/CallTermination/")
    assert request.content_type == "application/x-www-form-urlencoded"
    secret = form.pop("secretKey")
    assert len(secret) >= 32 and secret not in str(didforsale_account.credentials)
    # No url: DIDforSale rings `to` (the agent), then connects `from` (the customer).
    assert form == {
        "from": "918000000001", "to": agent.number[1:],
        "statusCallback": f"{PUBLIC_BASE_URL}/webhooks/didforsale/{didforsale_account.callback_token}/"
                          f"{call.request_uuid}/status/",
        "statusCallbackEvent": "initiated,ringing,answered,completed", "statusCallbackMethod": "POST",
    }


def test_it_maps_both_legs_case_insensitively(client, tenant, didforsale, didforsale_account, agent, run_tasks):
    call = queue_click_to_call(tenant, didforsale_account, agent)
    placed(didforsale, call, run_tasks)
    sid, customer_leg = call.carrier_call_id, "b-leg-0001"

    assert didforsale.status(client, sid, "initiated").status_code == 204
    assert didforsale.status(client, sid, "ringing").status_code == 204
    assert didforsale.status(client, sid, "answered").status_code == 204
    call.refresh_from_db()
    assert call.status == "ringing"  # the agent answered; the customer is being called

    assert didforsale.status(client, sid, "ringing", leg_sid=customer_leg).status_code == 204
    assert didforsale.status(client, sid, "answered", leg_sid=customer_leg).status_code == 204
    call.refresh_from_db()
    assert call.status == "in_progress"

    # The misspelt duration field, sent twice, the second time in other casing.
    completed = {"CallDurartion": "37", "RecordingURL": "https://rec.example.com/1.mp3"}
    assert didforsale.status(client, sid, "completed", leg_sid=customer_leg, **completed).status_code == 204
    assert didforsale.status(client, sid, "completed", leg_sid=customer_leg, calldurartion="37").status_code == 204
    call.refresh_from_db()
    assert (call.status, call.duration) == ("completed", 37)
    final = CallEvent.objects.get(call=call, status="completed", applied=True)
    assert final.payload["RecordingURL"] == "https://rec.example.com/1.mp3" and "apikey" not in final.payload
    assert CallEvent.objects.filter(call=call, applied=False).count() == 2  # b-leg ringing, duplicate completed


def test_it_ends_no_answer_when_the_agent_never_picks_up(client, tenant, didforsale, didforsale_account, agent,
                                                          run_tasks):
    call = queue_click_to_call(tenant, didforsale_account, agent)
    placed(didforsale, call, run_tasks)
    didforsale.status(client, call.carrier_call_id, "ringing")
    didforsale.status(client, call.carrier_call_id, "completed", CallDuration="0")
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("no_answer", "19")


def test_it_refuses_a_callback_without_the_secret_we_sent(client, tenant, didforsale, didforsale_account, agent,
                                                           run_tasks):
    call = queue_click_to_call(tenant, didforsale_account, agent)
    placed(didforsale, call, run_tasks)
    assert didforsale.status(client, call.carrier_call_id, "ringing", apikey="guessed").status_code == 403
    assert didforsale.status(client, call.carrier_call_id, "ringing", apikey="").status_code == 403
    call.refresh_from_db()
    assert call.status == "queued" and not CallEvent.objects.filter(call=call).exists()


def test_it_retries_429_then_places(tenant, didforsale, didforsale_account, agent, run_tasks):
    didforsale.script = [Reply(429, b"Too Many Requests")]
    call = queue_click_to_call(tenant, didforsale_account, agent)
    placed(didforsale, call, run_tasks, wait=2)
    assert len(didforsale.seen) == 2 and call.carrier_attempts == 2


def test_it_refuses_sfvopi_calls_it_cannot_stream(tenant, didforsale, didforsale_account, webhook_server, run_tasks):
    call = queue_call(tenant, webhook_server)
    run_tasks()
    call.refresh_from_db()
    assert call.status == "failed" and "click-to-call only" in call.carrier_error and didforsale.seen == []
