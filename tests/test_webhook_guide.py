"""docs/webhooks.md as written: its verification code accepts our real signed deliveries
and refuses altered ones, and its payload examples have the fields real webhooks carry."""

import json
import re
from pathlib import Path

import pytest

from calls import delivery, lifecycle
from calls.models import Call, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def guide_section(heading):
    text = GUIDE.read_text()
    return re.split(r"\n#{2,3} ", text.split(f"\n{heading}\n", 1)[1], maxsplit=1)[0]


def code_block(section, language):
    match = re.search(rf"```{language}\n(.*?)\n```", section, flags=re.DOTALL)
    assert match, f"no {language} block"
    return match.group(1)


@pytest.fixture
def read_webhook():
    namespace = {}
    exec(compile(code_block(guide_section("## Verifying POST webhooks"), "python"), str(GUIDE), "exec"), namespace)
    return namespace["read_webhook"]


@pytest.fixture
def delivered(tenant, webhook_server):
    """A call that rang, was answered and completed, with its three webhooks really sent."""
    call = Call.objects.create(
        organization=tenant.organization,
        app=tenant.app,
        from_number=tenant.from_number,
        to_number="+918000000002",
        ring_url=webhook_server.url("/ring"),
        answer_url=webhook_server.url("/answer"),
        hangup_url=webhook_server.url("/hangup"),
    )
    lifecycle.transition(call.pk, "ringing", source="carrier")
    lifecycle.transition(call.pk, "answered", source="carrier")
    delivery.resolve_answer(call.pk)
    lifecycle.transition(call.pk, "completed", source="carrier", payload={"hangup_cause": "16"})
    for row in WebhookDelivery.objects.filter(call=call, state=WebhookDelivery.State.PENDING):
        delivery.deliver(row.pk)
    received = {request.path.strip("/"): request for request in webhook_server.wait_for(3)}
    assert set(received) == {"ring", "answer", "hangup"}
    return received


def test_the_guides_code_verifies_real_deliveries(tenant, delivered, read_webhook):
    for event, request in delivered.items():
        assert request.method == "POST"

        payload = read_webhook(tenant.app.webhook_secret, request.raw, request.headers)

        assert payload == json.loads(request.raw), event


def test_the_guides_code_refuses_altered_or_foreign_deliveries(tenant, delivered, read_webhook):
    request = delivered["hangup"]
    altered = request.raw.replace(b"COMPLETED", b"CANCELED")

    assert read_webhook(tenant.app.webhook_secret, altered, request.headers) is None
    assert read_webhook("whsec_" + "A" * 32, request.raw, request.headers) is None
    assert read_webhook(tenant.app.webhook_secret, request.raw, {}) is None


@pytest.mark.parametrize("event", ["ring", "answer", "hangup"])
def test_the_guides_payloads_have_the_fields_real_webhooks_carry(delivered, event):
    documented = json.loads(code_block(guide_section(f"### {event}"), "json"))
    real = json.loads(delivered[event].raw)

    assert set(documented) == set(real)
    assert documented["call_status"] == real["call_status"]
    assert {name: type(value) for name, value in documented.items()} == {
        name: type(value) for name, value in real.items()
    }
    assert documented["direction"] == real["direction"]
    assert documented["request_uuid"][:11] == real["request_uuid"][:11]
