"""Signed desk webhooks for CRMs: call.dispositioned and agent.state_changed, opt-in per app."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from agents import desk as desk_services
from agents import services, states
from agents.models import DeskWebhook, DeskWebhookDelivery
from calls import lifecycle
from calls.models import CallStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _verify(tenant, received):
    Webhook(tenant.app.webhook_secret).verify(received.raw, {
        "webhook-id": received.headers["webhook-id"],
        "webhook-timestamp": received.headers["webhook-timestamp"],
        "webhook-signature": received.headers["webhook-signature"],
    })
    return json.loads(received.raw)


def test_a_disposition_is_sent_signed_to_an_app_that_opted_in(tenant, agent, outcomes, webhook_server, run_tasks):
    DeskWebhook.objects.create(organization=tenant.organization, app=tenant.app, url=webhook_server.url("/desk"))
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")
    desk_services.call_disposition_set(agent=agent, call_uuid=call.request_uuid,
                                       disposition_id=outcomes["sale"].pk, note="Two seats")
    run_tasks()

    received = [r for r in webhook_server.wait_for(1) if r.path == "/desk"]
    assert len(received) == 1  # agent states were not asked for
    body = _verify(tenant, received[0])
    assert body["type"] == "call.dispositioned"
    assert body["data"]["call_uuid"] == call.request_uuid
    assert (body["data"]["disposition"]["code"], body["data"]["note"]) == ("sale", "Two seats")


def test_agent_state_changes_are_sent_when_asked_for(tenant, agent, reasons, webhook_server, run_tasks):
    DeskWebhook.objects.create(organization=tenant.organization, app=tenant.app, url=webhook_server.url("/desk"),
                               dispositions=False, agent_states=True)
    states.agent_pause(agent=agent, pause_reason_id=reasons["Break"].pk)
    run_tasks()

    body = _verify(tenant, webhook_server.wait_for(1)[0])
    assert body["type"] == "agent.state_changed"
    assert (body["data"]["agent_id"], body["data"]["state"], body["data"]["pause_reason"]) == (
        agent.pk, "paused", "Break")
    assert DeskWebhookDelivery.objects.get().state == "delivered"


def test_nothing_is_sent_without_opting_in(tenant, agent, reasons, run_tasks):
    states.agent_pause(agent=agent, pause_reason_id=reasons["Break"].pk)
    assert not DeskWebhookDelivery.objects.exists()


def test_a_failing_receiver_is_retried(tenant, agent, reasons, webhook_server, run_tasks):
    DeskWebhook.objects.create(organization=tenant.organization, app=tenant.app, url=webhook_server.url("/desk"),
                               agent_states=True)
    webhook_server.responses["/desk"] = (503, {"down": True}, 0)
    states.agent_pause(agent=agent, pause_reason_id=reasons["Break"].pk)
    run_tasks()
    delivery = DeskWebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.error) == ("pending", 1, "HTTP 503")
    assert delivery.next_attempt_at is not None
