"""A fresh demo's webhooks reach the server's own receiver: its calls leave no dead letters."""

import json

import pytest
from django.core.management import call_command

from agents import services as agent_services
from agents import states
from agents.models import Agent
from calls.models import CallStatus, SfvopiApp, WebhookDelivery
from calls.streams import parse_stream
from tenants.models import Organization


def test_receiver_answers_ring_hangup_and_answer(client):
    assert client.post("/demo/webhooks/ring", "{}", content_type="application/json").status_code == 204
    assert client.post("/demo/webhooks/hangup", "{}", content_type="application/json").status_code == 204
    answer = client.post("/demo/webhooks/answer", "{}", content_type="application/json")
    assert answer.status_code == 200
    assert parse_stream(answer.content)
    assert client.post("/demo/webhooks/other", "{}", content_type="application/json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_demo_call_delivers_every_webhook(live_server, settings, run_tasks, capsys):
    settings.PUBLIC_BASE_URL = live_server.url
    call_command("demo", "--json")
    organization = Organization.objects.get(name="Demo")
    app = SfvopiApp.objects.get(organization=organization)
    assert app.answer_url == f"{live_server.url}/demo/webhooks/answer"
    agent = Agent.objects.get(organization=organization)
    states.agent_make_available(agent=agent)
    call = agent_services.agent_click_to_call(agent=agent, customer_number="+918000000001")
    run_tasks(wait=10)
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    deliveries = WebhookDelivery.objects.filter(call=call)
    assert deliveries.filter(kind="hangup").exists()
    assert not deliveries.exclude(state="delivered").exists(), list(deliveries.values("kind", "state", "error"))
    json.loads(capsys.readouterr().out.strip().splitlines()[-1])
