"""The worker process is SIGKILLed while it is sending a webhook: nothing is lost."""

import json

import pytest
import requests

from tests.faults.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_delivery_cut_off_by_a_killed_worker_is_sent_again(app, webhook_server):
    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker-1", "worker")
    # The customer's server is slow, so the worker is mid-request when it dies.
    webhook_server.responses["/hangup"] = (200, {"ok": True}, 8)

    response = requests.post(
        f"{app.base_url}/superfone/sfvopi/calls",
        headers={"X-API-Key": demo["api_key"]},
        json={
            "from": demo["from_number"],
            "to": "+918000000005",
            "answer_url": webhook_server.url("/answer"),
            "hangup_url": webhook_server.url("/hangup"),
        },
        timeout=10,
    )
    request_uuid = response.json()["data"]["request_uuid"]
    wait_until(lambda: len(webhook_server.received) == 1, 30, "the first hangup attempt never arrived")
    app.kill("worker-1")

    webhook_server.responses["/hangup"] = (200, {"ok": True}, 0)
    app.start("worker-2", "worker")
    # The killed sender's lease runs out, the sweeper hands the row to the new worker.
    wait_until(lambda: len(webhook_server.received) == 2, 60, "the hangup webhook was not sent again")

    first, second = webhook_server.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.raw) == json.loads(second.raw)
    assert second.body["call_status"] == "BUSY" and second.body["request_uuid"] == request_uuid

    def delivered():
        row = app.query(
            "import json; from calls.models import WebhookDelivery as W; "
            f"d = W.objects.get(call__request_uuid='{request_uuid}', kind='hangup'); "
            "print(json.dumps([d.state, d.attempts]))"
        )
        return row == ["delivered", 2]

    wait_until(delivered, 10, "the delivery was not recorded as delivered after two attempts")
    # At least once, and no more: nothing else arrives.
    assert len(webhook_server.received) == 2
    call = requests.get(
        f"{app.base_url}/superfone/sfvopi/calls/{request_uuid}", headers={"X-API-Key": demo["api_key"]}, timeout=5
    ).json()["data"]
    assert call["status"] == "busy"
