"""Retention deletes what is past keeping, organization by organization, and nothing else."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callcenter import retention
from calls import placement
from calls.models import Call, CallEvent, WebhookDelivery
from tests.conftest import queued_call

pytestmark = pytest.mark.django_db


def days_ago(days):
    return timezone.now() - timedelta(days=days)


def finished_call(tenant, *, ended_days_ago, status="completed"):
    call = queued_call(tenant)
    Call.objects.filter(pk=call.pk).update(status=status, ended_at=days_ago(ended_days_ago),
                                           created_at=days_ago(ended_days_ago))
    CallEvent.objects.create(call=call, source="test", status=status, previous_status="queued", applied=True)
    WebhookDelivery.objects.create(call=call, organization=tenant.organization, kind="hangup",
                                   url="https://customer.example.com/hangup", payload={}, state="failed")
    return call


@pytest.fixture
def world(tenant, other_tenant):
    tenant.organization.retention_days = 30
    tenant.organization.save()
    old = finished_call(tenant, ended_days_ago=40)
    recent = finished_call(tenant, ended_days_ago=20)
    live = queued_call(tenant)
    Call.objects.filter(pk=live.pk).update(status="in_progress", created_at=days_ago(45))
    other_old = finished_call(other_tenant, ended_days_ago=40)  # default: 90 days
    # A delivered ring webhook of the kept call, itself past 30 days; and a dead letter beside it.
    ring = WebhookDelivery.objects.create(call=recent, organization=tenant.organization, kind="ring",
                                          url="https://customer.example.com/ring", payload={}, state="delivered")
    WebhookDelivery.objects.filter(pk=ring.pk).update(created_at=days_ago(35))
    return {"old": old, "recent": recent, "live": live, "other_old": other_old, "ring": ring}


def test_it_deletes_only_finished_calls_past_their_organizations_retention(world):
    counts = retention.purge()

    assert not Call.objects.filter(pk=world["old"].pk).exists()
    assert not CallEvent.objects.filter(call_id=world["old"].pk).exists()
    assert not WebhookDelivery.objects.filter(call_id=world["old"].pk).exists()
    # Newer, live, or of an organization that keeps longer: untouched.
    assert Call.objects.filter(pk=world["recent"].pk).exists()
    assert Call.objects.get(pk=world["live"].pk).status == "in_progress"
    assert Call.objects.filter(pk=world["other_old"].pk).exists()
    assert CallEvent.objects.filter(call_id=world["other_old"].pk).count() == 1
    # The old delivered webhook goes; the kept call's dead letter stays for redelivery.
    assert not WebhookDelivery.objects.filter(pk=world["ring"].pk).exists()
    assert WebhookDelivery.objects.filter(call_id=world["recent"].pk, state="failed").count() == 1
    assert counts["finished calls"] == 1 and counts["delivered webhooks"] == 1


def test_the_global_default_applies_to_organizations_without_their_own(world, other_tenant, settings):
    settings.RETENTION_DAYS = 35

    retention.purge()

    assert not Call.objects.filter(pk=world["other_old"].pk).exists()
    assert Call.objects.filter(pk=world["recent"].pk).exists()


def test_it_deletes_in_batches_until_done(tenant):
    tenant.organization.retention_days = 30
    tenant.organization.save()
    for _ in range(5):
        finished_call(tenant, ended_days_ago=31)

    assert retention.purge(batch_size=2)["finished calls"] == 5
    assert not Call.objects.exists()


def test_finished_task_rows_go_after_their_own_retention(settings):
    settings.TASK_RETENTION_DAYS = 7
    old, recent, waiting = (placement.place_call.enqueue(n) for n in (1, 2, 3))
    DBTaskResult.objects.filter(pk=old.id).update(status="SUCCESSFUL", finished_at=days_ago(8))
    DBTaskResult.objects.filter(pk=recent.id).update(status="FAILED", finished_at=days_ago(2))
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=days_ago(30))

    assert retention.purge()["finished tasks"] == 1

    assert {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)} == {recent.id, waiting.id}


def test_a_dry_run_counts_and_deletes_nothing(world):
    out = StringIO()
    call_command("purge_old_data", "--dry-run", stdout=out)

    assert "finished calls: would delete 1" in out.getvalue()
    assert Call.objects.count() == 4

    call_command("purge_old_data", stdout=out)
    assert "finished calls: deleted 1" in out.getvalue()
    assert Call.objects.count() == 3


def test_workers_queue_one_purge_at_a_time():
    assert retention.purge_enqueue() is True
    assert retention.purge_enqueue() is False
    assert DBTaskResult.objects.filter(task_path="callcenter.retention.purge_task").count() == 1


def test_another_kind_of_data_is_one_more_step(tenant, settings):
    from django.db.models import Q

    settings.RETENTION_DAYS = 30
    call = finished_call(tenant, ended_days_ago=5)
    CallEvent.objects.filter(call=call).update(created_at=days_ago(40))
    events = retention.Step("call events", CallEvent, lambda cutoff: Q(created_at__lt=cutoff),
                            per_organization=False)

    assert retention.purge(steps=[events]) == {"call events": 1}
    assert Call.objects.filter(pk=call.pk).exists()


def test_retention_days_is_validated_by_the_service(tenant):
    from tenants import services
    from tenants.errors import ServiceError

    with pytest.raises(ServiceError):
        services.organization_update(organization=tenant.organization, name="Acme", retention_days=0)
    services.organization_update(organization=tenant.organization, name="Acme", retention_days=365)
    tenant.organization.refresh_from_db()
    assert tenant.organization.retention_days == 365
