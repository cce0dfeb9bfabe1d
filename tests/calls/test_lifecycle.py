"""The one state machine: forward only, every report recorded, webhooks written once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from calls import lifecycle, sweeper
from calls.models import Call, CallEvent, WebhookDelivery
from tests.conftest import queued_call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call(tenant):
    return queued_call(tenant)


def statuses(call):
    return list(call.events.values_list("status", "applied"))


def test_it_records_and_ignores_a_duplicate_report(call):
    assert lifecycle.transition(call.pk, "ringing", source="sandbox").applied
    again = lifecycle.transition(call.pk, "ringing", source="sandbox")
    assert not again.applied and again.note == "duplicate"
    assert statuses(call) == [("ringing", True), ("ringing", False)]
    assert WebhookDelivery.objects.filter(call=call, kind="ring").count() == 1


def test_it_never_moves_a_call_backwards(call):
    lifecycle.transition(call.pk, "answered", source="carrier")
    late_ring = lifecycle.transition(call.pk, "ringing", source="carrier")
    call.refresh_from_db()
    assert call.status == "answered"
    assert not late_ring.applied and late_ring.note.startswith("stale")
    # The ring webhook is not sent for a ring reported after the answer.
    assert not WebhookDelivery.objects.filter(call=call, kind="ring").exists()


def test_it_keeps_the_first_final_status(call):
    lifecycle.transition(call.pk, "ringing", source="carrier")
    lifecycle.transition(call.pk, "busy", source="carrier")
    lifecycle.transition(call.pk, "completed", source="carrier")
    call.refresh_from_db()
    assert call.status == "busy"
    assert WebhookDelivery.objects.get(call=call, kind="hangup").payload["call_status"] == "BUSY"


def test_it_accepts_a_hangup_that_overtook_the_answer(call):
    lifecycle.transition(call.pk, "ringing", source="carrier")
    lifecycle.transition(call.pk, "completed", source="carrier", duration=42)
    lifecycle.transition(call.pk, "answered", source="carrier")
    call.refresh_from_db()
    assert (call.status, call.duration) == ("completed", 42)
    assert not WebhookDelivery.objects.filter(call=call, kind="answer").exists()


def test_it_uses_sequence_numbers_so_late_events_lose(call):
    lifecycle.transition(call.pk, "ringing", source="callapi", sequence=1)
    lifecycle.transition(call.pk, "answered", source="callapi", sequence=2)
    late = lifecycle.transition(call.pk, "ringing", source="callapi", sequence=0)
    assert late.note == "stale: sequence 0 after 2"
    call.refresh_from_db()
    assert (call.status, call.carrier_sequence) == ("answered", 2)


def test_it_only_streams_an_answered_call(call):
    assert not lifecycle.transition(call.pk, "in_progress", source="answer_webhook").applied


def test_the_sweeper_ends_a_call_whose_carrier_went_silent(call):
    lifecycle.transition(call.pk, "ringing", source="carrier")
    # The ring timer task was lost and the carrier says nothing more.
    Call.objects.filter(pk=call.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    sweeper.sweep()
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("no_answer", "19")
    assert call.events.last().source == "timer"


def test_the_sweeper_ends_a_call_past_its_time_limit(call):
    lifecycle.transition(call.pk, "answered", source="carrier")
    Call.objects.filter(pk=call.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    sweeper.sweep()
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("completed", "31")


def test_a_timer_that_fires_early_changes_nothing(call):
    lifecycle.transition(call.pk, "ringing", source="carrier")
    assert lifecycle.expire_if_due(call.pk) is None
    call.refresh_from_db()
    assert call.status == "ringing"


def test_the_sweeper_resends_a_pending_webhook_whose_sender_died(call, webhook_server, run_tasks):
    Call.objects.filter(pk=call.pk).update(hangup_url=webhook_server.url("/hangup"))
    lifecycle.transition(call.pk, "busy", source="carrier")
    delivery = WebhookDelivery.objects.get(call=call, kind="hangup")
    # A sender claimed it, then died before recording anything: its lease has run out.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=1, locked_until=timezone.now() - timedelta(seconds=1), created_at=timezone.now() - timedelta(minutes=1)
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert webhook_server.paths() == ["/hangup"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (set DATABASE_URL)")
def test_two_concurrent_reports_apply_exactly_once(call):
    lifecycle.transition(call.pk, "ringing", source="carrier")
    barrier = threading.Barrier(8)
    outcomes = []

    def report(status):
        barrier.wait()
        try:
            outcomes.append(lifecycle.transition(call.pk, status, source="carrier").applied)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(s,)) for s in ["answered"] * 4 + ["busy"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    call.refresh_from_db()
    # Either the answer or the busy won, never both; every report is on record.
    assert call.status in ("answered", "busy")
    applied = CallEvent.objects.filter(call=call, applied=True).exclude(status="ringing")
    if call.status == "answered":
        assert list(applied.values_list("status", flat=True)) == ["answered"]
    else:
        assert applied.filter(status="busy").count() == 1
    assert CallEvent.objects.filter(call=call).count() == 9
    # A busy call owes its hangup webhook exactly once; an answered one none yet.
    hangups = WebhookDelivery.objects.filter(call=call, kind="hangup").count()
    assert hangups == (1 if call.status == "busy" and call.hangup_url else 0)


def test_the_sweeper_places_a_lost_call_but_leaves_a_held_one_alone(call):
    from django_tasks_db.models import DBTaskResult

    long_ago = timezone.now() - timedelta(minutes=5)
    Call.objects.filter(pk=call.pk).update(created_at=long_ago, place_after=timezone.now() + timedelta(seconds=30))
    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    assert not DBTaskResult.objects.filter(task_path__endswith="place_call").exists()

    Call.objects.filter(pk=call.pk).update(place_after=None)
    sweeper.sweep()
    [placement] = DBTaskResult.objects.filter(task_path__endswith="place_call")
    assert placement.args_kwargs["args"] == [call.pk]
