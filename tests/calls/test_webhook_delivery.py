"""Customer webhooks: signatures, the opt-in retry ladder, dead letters, redirects and pinning."""

import socket
import textwrap
import urllib
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from calls import delivery, lifecycle
from calls.models import Call, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ended_call(tenant, webhook_server):
    def make(hangup_path="/hangup", method="POST"):
        call = Call.objects.create(
            organization=tenant.organization,
            app=tenant.app,
            from_number=tenant.from_number,
            to_number="+918000000005",
            answer_url=webhook_server.url("/answer"),
            hangup_url=webhook_server.url(hangup_path) if hangup_path.startswith("/") else hangup_path,
            hangup_method=method,
        )
        lifecycle.transition(call.pk, "busy", source="carrier")
        return WebhookDelivery.objects.get(call=call, kind="hangup")

    return make


def test_it_signs_webhooks_so_the_standardwebhooks_library_verifies_them(tenant, webhook_server, ended_call):
    hook = ended_call()
    delivery.deliver(hook.pk)
    [received] = webhook_server.received
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert headers["webhook-id"] == hook.webhook_id
    verified = Webhook(tenant.app.webhook_secret).verify(received.raw, headers)
    assert verified["call_status"] == "BUSY"


def test_a_signature_made_with_another_secret_does_not_verify(tenant, other_tenant, webhook_server, ended_call):
    delivery.deliver(ended_call().pk)
    [received] = webhook_server.received
    headers = {name.lower(): value for name, value in received.headers.items()}
    with pytest.raises(WebhookVerificationError):
        Webhook(other_tenant.app.webhook_secret).verify(received.raw, headers)


def test_it_sends_a_hangup_once_when_the_app_has_not_opted_in_to_retries(webhook_server, ended_call):
    webhook_server.responses["/hangup"] = (503, {"error": "busy"}, 0)
    hook = ended_call()
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert (hook.state, hook.attempts, hook.response_code) == ("failed", 1, 503)


def test_it_retries_with_backoff_and_one_webhook_id_when_the_app_opts_in(tenant, webhook_server, ended_call):
    tenant.app.retry_webhooks = True
    tenant.app.save()
    webhook_server.responses["/hangup"] = (500, {"error": "down"}, 0)
    hook = ended_call()
    assert hook.max_attempts == delivery.RETRY_ATTEMPTS
    for attempt in range(1, delivery.RETRY_ATTEMPTS + 1):
        before = timezone.now()
        delivery.deliver(hook.pk)
        hook.refresh_from_db()
        assert hook.attempts == attempt
        if attempt < delivery.RETRY_ATTEMPTS:
            assert hook.state == "pending"
            wait = hook.next_attempt_at - before
            ceiling = delivery.RETRY_BASE_SECONDS * 2 ** (attempt - 1)
            assert timedelta(seconds=ceiling / 2) <= wait <= timedelta(seconds=ceiling + 1)
            # Not due yet: a second sender gets nothing.
            assert delivery.deliver(hook.pk) is None
            WebhookDelivery.objects.filter(pk=hook.pk).update(next_attempt_at=timezone.now())
    assert hook.state == "failed"
    ids = {r.headers["webhook-id"] for r in webhook_server.received}
    assert ids == {hook.webhook_id} and len(webhook_server.received) == delivery.RETRY_ATTEMPTS


def test_a_dead_letter_can_be_redelivered(webhook_server, ended_call):
    webhook_server.responses["/hangup"] = (500, {}, 0)
    hook = ended_call()
    delivery.deliver(hook.pk)
    webhook_server.responses.pop("/hangup")
    assert delivery.redeliver(hook)
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert (hook.state, hook.attempts) == ("delivered", 2)
    assert not delivery.redeliver(hook)


@pytest.mark.parametrize("status", [302, 307])
def test_it_does_not_follow_redirects(webhook_server, ended_call, status):
    # A real redirect with a Location to an internal target: following it would reach /internal.
    webhook_server.responses["/hangup"] = (status, b"", 0, {"Location": webhook_server.url("/internal")})
    hook = ended_call()
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert (hook.state, hook.response_code, hook.error) == ("failed", status, f"HTTP {status}")
    assert webhook_server.paths() == ["/hangup"]


def test_a_slow_customer_server_times_out_without_holding_up_the_call(webhook_server, ended_call, monkeypatch):
    monkeypatch.setitem(delivery.TIMEOUTS, WebhookDelivery.Kind.HANGUP, 0.3)
    webhook_server.responses["/hangup"] = (200, {}, 1.5)
    hook = ended_call()
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert hook.state == "failed" and "Timeout" in hook.error
    assert hook.call.status == "busy"


def test_a_customer_server_that_is_down_is_recorded(ended_call):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hook = ended_call(f"http://127.0.0.1:{closed_port}/hangup")
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert hook.state == "failed" and "ConnectionError" in hook.error


def test_it_connects_to_the_address_it_checked(webhook_server, ended_call, monkeypatch):
    """A host name is resolved once, checked, and that address is used for the connection."""
    port = int(webhook_server.base_url.rsplit(":", 1)[1])
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def only_the_guard_can_resolve(host, *args, **kwargs):
        if host == "hooks.customer.test":
            lookups.append(host)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", only_the_guard_can_resolve)
    hook = ended_call(f"http://hooks.customer.test:{port}/hangup")
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert hook.state == "delivered"
    assert lookups == ["hooks.customer.test"]
    assert webhook_server.received[0].headers["Host"] == f"hooks.customer.test:{port}"


def test_it_refuses_at_send_time_a_name_that_now_resolves_inside(webhook_server, ended_call, settings, monkeypatch):
    hook = ended_call("http://rebound.customer.test/hangup")
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket, "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host == "rebound.customer.test" else host, *a, **k),
    )
    delivery.deliver(hook.pk)
    hook.refresh_from_db()
    assert hook.state == "failed" and hook.error.startswith("refused:")
    assert webhook_server.received == []


def test_after_a_rotation_webhooks_verify_with_the_new_and_the_old_secret(tenant, webhook_server, ended_call):
    old_secret = tenant.app.webhook_secret
    rotated = tenant.api.post(f"/superfone/sfvopi/apps/{tenant.app.app_id}/webhook-secret").json()["data"]
    assert rotated["webhook_secret"] != old_secret and rotated["previous_webhook_secret_valid_until"]
    assert tenant.api.get(f"/superfone/sfvopi/apps/{tenant.app.app_id}/webhook-secret").json()["data"] == rotated
    delivery.deliver(ended_call().pk)
    [received] = webhook_server.received
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert Webhook(rotated["webhook_secret"]).verify(received.raw, headers)
    assert Webhook(old_secret).verify(received.raw, headers)


def test_the_old_secret_stops_signing_a_day_after_the_rotation(tenant, webhook_server, ended_call):
    old_secret = tenant.app.webhook_secret
    tenant.api.post(f"/superfone/sfvopi/apps/{tenant.app.app_id}/webhook-secret")
    type(tenant.app).objects.filter(pk=tenant.app.pk).update(
        webhook_secret_rotated_at=timezone.now() - timedelta(hours=25)
    )
    delivery.deliver(ended_call().pk)
    headers = {name.lower(): value for name, value in webhook_server.received[0].headers.items()}
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(webhook_server.received[0].raw, headers)


def test_another_organization_cannot_read_or_rotate_the_secret(tenant, other_tenant):
    url = f"/superfone/sfvopi/apps/{tenant.app.app_id}/webhook-secret"
    assert other_tenant.api.get(url).status_code == 404
    assert other_tenant.api.post(url).status_code == 404
    tenant.app.refresh_from_db()
    assert tenant.app.previous_webhook_secret == ""


def _readme_verifier():
    """The README's verification code, exactly as it is printed there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- verify-webhook -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {"urllib": urllib}
    exec(textwrap.dedent(block), namespace)  # noqa: S102  # our own README's example
    return namespace["verify_webhook"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_readme_verification_code_verifies_get_and_post_webhooks(tenant, webhook_server, ended_call, method):
    verify_webhook = _readme_verifier()
    hook = ended_call("/hangup?customer=1", method=method)
    delivery.deliver(hook.pk)
    [received] = webhook_server.received
    headers = {name.lower(): value for name, value in received.headers.items()}

    payload = verify_webhook(tenant.app.webhook_secret, received.method, received.query, received.raw, headers)

    assert received.method == method
    assert payload["request_uuid"] == hook.call.request_uuid
    if method == "GET":
        assert payload["customer"] == "1"  # the URL's own query is covered too
        tampered = received.query.replace("BUSY", "COMPLETED")
        assert tampered != received.query
        with pytest.raises(WebhookVerificationError):
            verify_webhook(tenant.app.webhook_secret, "GET", tampered, b"", headers)
