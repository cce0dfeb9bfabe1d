"""Carrier accounts are held to the webhook SSRF rules: checked with DNS when saved, and at every
send resolved, pinned to a public address, with no redirect followed, so credentials reach
only the host that was checked."""

import socket

import pytest

from calls import placement, services
from calls.models import CarrierAccount
from tenants.errors import ServiceError
from tests.carriers.conftest import queue_call
from tests.carriers.fakes import Reply

pytestmark = pytest.mark.django_db(transaction=True)


def _resolving(monkeypatch, name, address):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1", "169.254.169.254"])
def test_saving_an_account_whose_name_resolves_inside_is_refused(tenant, settings, monkeypatch, address):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    _resolving(monkeypatch, "carrier.example.net", address)

    with pytest.raises(ServiceError) as refused:
        services.carrier_account_save(
            account=None, organization=tenant.organization, name="v", kind="vobiz",
            base_url="https://carrier.example.net/api", caller_id="+918000099999",
        )

    assert refused.value.code == "unsafe_url"
    assert not CarrierAccount.objects.exists()


def test_a_send_to_an_internal_address_is_refused_before_credentials_leave(
    tenant, vobiz, vobiz_account, webhook_server, run_tasks, settings, monkeypatch
):
    monkeypatch.setattr(placement, "MAX_PLACE_ATTEMPTS", 1)
    call = queue_call(tenant, webhook_server)
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False  # the fake Vobiz listens on loopback
    run_tasks(wait=5)

    call.refresh_from_db()
    assert vobiz.seen == []
    assert call.status == "failed" and "not a public address" in call.carrier_error
    assert vobiz.auth_token not in call.carrier_error


def test_a_carriers_redirect_is_not_followed(tenant, vobiz, vobiz_account, webhook_server, run_tasks, monkeypatch):
    monkeypatch.setattr(placement, "MAX_PLACE_ATTEMPTS", 1)
    vobiz.script = [Reply(307, {}, {"Location": f"{vobiz.base_url}/elsewhere"})]
    call = queue_call(tenant, webhook_server)
    run_tasks(wait=5)

    call.refresh_from_db()
    assert [request.path for request in vobiz.seen] == [f"/api/v1/Account/{vobiz.auth_id}/Call/"]
    assert call.status == "failed"


def test_a_carriers_refusal_text_stays_out_of_what_customers_read(
    tenant, vobiz, vobiz_account, webhook_server, run_tasks, monkeypatch
):
    monkeypatch.setattr(placement, "MAX_PLACE_ATTEMPTS", 1)
    vobiz.script = [Reply(400, {"error": "internal route 10.9.8.7 rejected <script>"})]
    call = queue_call(tenant, webhook_server)
    run_tasks(wait=5)

    call.refresh_from_db()
    detail = tenant.api.get(f"/api/v1/calls/{call.request_uuid}").content.decode()
    assert call.status == "failed" and "HTTP 400" in call.carrier_error
    assert "10.9.8.7" not in detail and "10.9.8.7" not in call.carrier_error
    assert "10.9.8.7" in call.carrier_response
    assert "carrier_response" not in detail
