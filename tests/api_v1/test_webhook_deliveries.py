import pytest
from django_tasks_db.models import DBTaskResult

from calls.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_it_lists_deliveries_filtered_by_state(tenant, own):
    failed = tenant.api.get("/api/v1/webhook-deliveries", {"state": "failed"}).json()["results"]
    delivered = tenant.api.get("/api/v1/webhook-deliveries", {"state": "delivered"}).json()["results"]

    assert [row["webhook_id"] for row in failed] == [own.delivery.webhook_id]
    assert failed[0]["request_uuid"] == own.call.request_uuid
    assert delivered == []


def test_it_redelivers_a_failed_webhook(tenant, own, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.api.post(f"/api/v1/webhook-deliveries/{own.delivery.webhook_id}/redeliver")

    assert response.status_code == 202
    assert response.json()["state"] == "pending"
    assert DBTaskResult.objects.filter(args_kwargs__args=[own.delivery.pk]).exists()


def test_it_refuses_to_redeliver_a_webhook_that_has_not_failed(tenant, own):
    WebhookDelivery.objects.filter(pk=own.delivery.pk).update(state="delivered")

    response = tenant.api.post(f"/api/v1/webhook-deliveries/{own.delivery.webhook_id}/redeliver")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "delivery_not_failed"
