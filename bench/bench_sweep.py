"""The sweeper and the timers: their cost must follow the live calls, not all calls.

On a fresh PostgreSQL database: 1,000 live (ringing) calls made through the lifecycle,
so each has a deadline and a timer task. Then sweep() is timed and its queries counted,
and the task worker's poll query (the timers' side) is timed, first with no finished
calls and again after 10,000 finished calls (with their delivered webhooks, events, and the
timers an ended call can leave behind) are added. EXPLAIN shows which index each
query uses. Last, the 1,000 live calls' deadlines are moved into the past and one sweep
ends them all: that is the work that grows with live calls.

    python -m bench.bench_sweep [--live 1000] [--finished 10000]
"""

import argparse
import time
from datetime import timedelta

from bench.common import Stack, print_machine


def timed(function, rounds=20):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    function()
    with CaptureQueriesContext(connection) as captured:
        function()
    started = time.perf_counter()
    for _ in range(rounds):
        function()
    return round((time.perf_counter() - started) / rounds * 1000, 2), len(captured.captured_queries)


def worker_poll():
    """The query each task-worker poll makes (django_tasks_db's db_worker), in its transaction."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        return DBTaskResult.objects.ready().filter(backend_name="default").get_locked()


def explain(queryset, label):
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    print(f"  EXPLAIN {label}:")
    for line in plan:
        print("     " + line)


def sweep_querysets():
    """The sweeper's three reads, as sweeper.sweep() builds them."""
    from django.db.models import Q
    from django.utils import timezone

    from calls import delivery
    from calls.models import Call, CallStatus, WebhookDelivery
    from calls.sweeper import STALE_QUEUED_SECONDS

    now = timezone.now()
    return {
        "deadlines due": Call.objects.filter(deadline_at__lte=now).values_list("pk", flat=True)[:500],
        "deliveries due": (
            WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .filter(created_at__lte=now - timedelta(seconds=delivery.LEASE_MARGIN_SECONDS))
            .values_list("pk", "kind", "call_id")[:500]
        ),
        "lost placements": Call.objects.filter(
            status=CallStatus.QUEUED, carrier_call_id="", created_at__lte=now - timedelta(seconds=STALE_QUEUED_SECONDS)
        ).values_list("pk", flat=True)[:500],
    }


def add_finished(tenant, count, stale_timers):
    from django.db import transaction
    from django.utils import timezone

    from calls import timers
    from calls.models import Call, CallEvent, CallStatus, SfvopiApp, WebhookDelivery

    app = SfvopiApp.objects.get(app_id=tenant["app_id"])
    now = timezone.now()
    calls = Call.objects.bulk_create(
        (
            Call(organization_id=app.organization_id, app=app, from_number=tenant["from_number"],
                 to_number="+919800000011", status=CallStatus.COMPLETED, carrier_call_id=f"sbx-done-{i}",
                 started_at=now - timedelta(minutes=5), answered_at=now - timedelta(minutes=4),
                 ended_at=now - timedelta(minutes=1), duration=180, hangup_cause="16")
            for i in range(count)
        ),
        batch_size=2000,
    )  # fmt: skip
    CallEvent.objects.bulk_create(
        (CallEvent(call=call, source="sandbox", status=status, previous_status=previous, applied=True)
         for call in calls
         for previous, status in (("queued", "ringing"), ("ringing", "answered"), ("answered", "completed"))),
        batch_size=5000,
    )  # fmt: skip
    WebhookDelivery.objects.bulk_create(
        (WebhookDelivery(organization_id=app.organization_id, call=call, kind=kind, url="http://127.0.0.1:9/x",
                         payload={}, state=WebhookDelivery.State.DELIVERED, attempts=1, delivered_at=now)
         for call in calls for kind in ("answer", "hangup")),
        batch_size=5000,
    )  # fmt: skip
    # Timers an ended call can leave behind: none past lifecycle.TIMER_HORIZON, since longer
    # deadlines are the sweeper's. --stale-timers recreates what hours-long timers did before.
    with transaction.atomic():
        for call in calls[:stale_timers]:
            timers.expire_deadline.using(run_after=now + timedelta(hours=3)).enqueue(call.pk)


def report(label, live_ids):
    from django.db import connection

    from calls import sweeper, timers

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM calls_call")
        calls = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'READY'")
        timers = cursor.fetchone()[0]
    sweep_ms, sweep_queries = timed(sweeper.sweep)
    poll_ms, poll_queries = timed(worker_poll)
    print(f"\n{label}: {calls} calls in the table, {len(live_ids)} live, {timers} queued timer tasks")
    print(f"  sweep(): {sweep_ms} ms, {sweep_queries} queries (nothing due)")
    print(f"  task-worker poll: {poll_ms} ms, {poll_queries} queries")
    for name, queryset in sweep_querysets().items():
        explain(queryset, f"sweep: {name}")
    from django_tasks_db.models import DBTaskResult

    explain(DBTaskResult.objects.ready().filter(backend_name="default")[:1], "task-worker poll")
    return sweep_ms, sweep_queries, poll_ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--live", type=int, default=1000)
    parser.add_argument("--finished", type=int, default=10000)
    parser.add_argument("--stale-timers", type=int, default=0,
                        help="queue this many 3-hour timers for finished calls (the cost before TIMER_HORIZON)")
    args = parser.parse_args()
    print_machine()
    with Stack("sweep", worker=False) as stack:
        tenant = stack.demo()
        from django.utils import timezone

        from calls import lifecycle, sweeper
        from calls.models import Call, CallStatus, SfvopiApp

        app = SfvopiApp.objects.get(app_id=tenant["app_id"])
        live = Call.objects.bulk_create(
            Call(organization_id=app.organization_id, app=app, from_number=tenant["from_number"],
                 to_number="+919800000016", carrier_call_id=f"sbx-live-{i}", ring_timeout=600)
            for i in range(args.live)
        )  # fmt: skip
        started = time.perf_counter()
        for call in live:
            lifecycle.transition(call.pk, CallStatus.RINGING, source="bench")
        per_transition = (time.perf_counter() - started) / len(live) * 1000
        live_ids = [call.pk for call in live]
        print(f"{args.live} live calls rung through lifecycle.transition ({per_transition:.1f} ms each)")

        a = report(f"A. {args.live} live calls, no finished calls", live_ids)
        started = time.perf_counter()
        add_finished(tenant, args.finished, args.stale_timers)
        print(f"\n(added {args.finished} finished calls in {time.perf_counter() - started:.1f} s)")
        b = report(f"B. {args.live} live calls + {args.finished} finished calls", live_ids)

        Call.objects.filter(pk__in=live_ids).update(deadline_at=timezone.now() - timedelta(seconds=1))
        ended = 0
        started = time.perf_counter()
        while Call.objects.filter(deadline_at__lte=timezone.now()).exists():
            sweeper.sweep()
        elapsed = time.perf_counter() - started
        ended = Call.objects.filter(pk__in=live_ids, status=CallStatus.NO_ANSWER).count()
        print(f"\nC. all {args.live} live deadlines due: sweeps ended {ended} calls in {elapsed:.1f} s "
              f"({elapsed / max(ended, 1) * 1000:.1f} ms per call ended)")  # fmt: skip

    print("\n## Sweeper and timers")
    print(f"sweep() with nothing due: {a[0]} ms / {a[1]} queries with {args.live} live calls; "
          f"{b[0]} ms / {b[1]} queries after adding {args.finished} finished calls")
    print(f"task-worker poll: {a[2]} ms -> {b[2]} ms")


if __name__ == "__main__":
    main()
