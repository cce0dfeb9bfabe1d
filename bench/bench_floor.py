"""The supervisor's floor on PostgreSQL: 30-day reports over 1,000,000 calls, and a dashboard
refresh whose cost does not follow the size of the calls table.

One organization, 20 agents in Asia/Kolkata. First 10,000 calls (2,000 of them today) and
their agents' state intervals; the rollup is summed (floor/rollup.py) and the dashboard's
refresh (floor.views.floor_snapshot) is timed and its queries counted. Then history is
added up to 1,000,000 calls over 30 days, 2,000,000 agent-state intervals and 333,334
dispositions (rows made with generate_series), the rollup is rebuilt (as
`manage.py rebuild_floor_figures` does) and one steady pass of the worker's rollup timed,
the refresh is timed again, and each 30-day report (floor.figures) is timed from the
rollup, checked equal to the raw computation, and timed raw. EXPLAIN of the rollup's
report query and of the refresh's calls and states queries shows the index each uses.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> python -m bench.bench_floor

It empties the calls, agent-state and disposition tables of that database first.
"""

import argparse
import functools
import os
import time
from datetime import timedelta

AGENTS = 20


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench_floor needs PostgreSQL: set DATABASE_URL=postgres://...")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(function, rounds=5):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    function()  # warm
    with CaptureQueriesContext(connection) as captured:
        function()
    started = time.perf_counter()
    for _ in range(rounds):
        function()
    return round((time.perf_counter() - started) / rounds * 1000, 1), len(captured.captured_queries)


def make_organization():
    from django.contrib.auth import get_user_model

    from agents.models import Agent, Disposition, PauseReason
    from calls.models import SfvopiApp
    from tenants.models import Organization

    with_sql("TRUNCATE agents_calldisposition, agents_agentstate, calls_webhookdelivery, calls_callevent, "
             "calls_call, floor_callfigure, floor_statefigure, floor_dispositionfigure, floor_figuremark CASCADE")
    Organization.objects.filter(name="Floor bench").delete()
    get_user_model().objects.filter(username__startswith="floor-bench-").delete()
    organization = Organization.objects.create(name="Floor bench", time_zone="Asia/Kolkata")
    app = SfvopiApp.objects.create(organization=organization, name="bench", answer_url="https://example.com/a")
    agents = []
    for n in range(AGENTS):
        user = get_user_model().objects.create_user(username=f"floor-bench-{n}")
        agents.append(Agent.objects.create(user=user, organization=organization, number=f"+91980000{n:04d}"))
    reason = PauseReason.objects.create(organization=organization, name="Break")
    outcomes = [Disposition.objects.create(organization=organization, code=code, label=code.title())
                for code in ("sale", "callback", "not_interested")]
    return organization, app, agents, reason, outcomes


def with_sql(sql, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def add_calls(organization, app, agents, *, first_id, count, newest, span_seconds):
    """`count` finished calls, ids from `first_id`, spread evenly over `span_seconds` before `newest`.

    Two in three answered, 30 to 330 s of talk, agents in turn.
    """
    first_agent = agents[0].pk
    with_sql(
        """
        INSERT INTO calls_call (request_uuid, call_uuid, organization_id, app_id, agent_id, kind, direction,
            from_number, to_number, status, answer_url, answer_method, ring_url, ring_method, hangup_url,
            hangup_method, fallback_answer_url, fallback_answer_method, call_time_limit, ring_timeout, created_at,
            started_at, answered_at, ended_at, duration, hangup_cause, carrier, carrier_call_id, carrier_error,
            carrier_reports_progress, carrier_attempts, carrier_response, record)
        SELECT 'bench_' || g, 'bench-' || g, %(org)s, %(app)s, %(agent)s + (g %% %(agents)s), 'click_to_call',
            'OUTBOUND', '+918000000001', '+9190' || lpad((g %% 100000000)::text, 8, '0'),
            CASE WHEN g %% 3 = 0 THEN 'no_answer' ELSE 'completed' END, '', 'POST', '', 'POST', '', 'POST', '',
            'POST', 14400, 60, t, t, CASE WHEN g %% 3 = 0 THEN NULL ELSE t + interval '5 seconds' END,
            t + interval '5 seconds' + (CASE WHEN g %% 3 = 0 THEN 0 ELSE 30 + g %% 300 END) * interval '1 second',
            CASE WHEN g %% 3 = 0 THEN 0 ELSE 30 + g %% 300 END, CASE WHEN g %% 3 = 0 THEN '19' ELSE '16' END,
            'sandbox', '', '', true, 1, '', false
        FROM generate_series(%(first)s, %(last)s) AS g,
             LATERAL (SELECT %(newest)s::timestamptz - (%(last)s - g) * (%(span)s::float / %(count)s)
                      * interval '1 second' AS t) AS moment
        """,
        {"org": organization.pk, "app": app.pk, "agent": first_agent, "agents": AGENTS, "first": first_id,
         "last": first_id + count - 1, "newest": newest, "span": span_seconds, "count": count},
    )


def add_states(organization, agents, reason, *, per_agent, newest, span_seconds):
    """`per_agent` back-to-back intervals per agent ending at `newest`, cycling through the states."""
    with_sql(
        """
        INSERT INTO agents_agentstate (organization_id, agent_id, state, pause_reason_id, started_at, ended_at,
            wrap_up_extended)
        SELECT %(org)s, a.id, s.state, CASE WHEN s.state = 'paused' THEN %(reason)s END,
               %(newest)s::timestamptz - (%(n)s - g + 1) * step, %(newest)s::timestamptz - (%(n)s - g) * step, false
        FROM agents_agent a, generate_series(1, %(n)s) AS g,
             LATERAL (SELECT (ARRAY['available', 'on_call', 'wrap_up', 'available', 'paused'])[1 + g %% 5] AS state)
                 AS s,
             LATERAL (SELECT (%(span)s::float / %(n)s) * interval '1 second' AS step) AS st
        WHERE a.organization_id = %(org)s
        """,
        {"org": organization.pk, "reason": reason.pk, "newest": newest, "n": per_agent, "span": span_seconds},
    )


def open_states(organization, agents, newest):
    with_sql(
        "INSERT INTO agents_agentstate (organization_id, agent_id, state, started_at, wrap_up_extended) "
        "SELECT %s, id, 'available', %s, false FROM agents_agent WHERE organization_id = %s",
        [organization.pk, newest, organization.pk],
    )


def add_dispositions(organization, outcomes, every):
    with_sql(
        """
        INSERT INTO agents_calldisposition (organization_id, call_id, disposition_id, note, agent_id, created_at,
            updated_at)
        SELECT organization_id, id, (ARRAY[%s, %s, %s])[1 + id %% 3], '', agent_id, ended_at, ended_at
        FROM calls_call WHERE organization_id = %s AND answered_at IS NOT NULL AND id %% %s = 0
          AND NOT EXISTS (SELECT 1 FROM agents_calldisposition d WHERE d.call_id = calls_call.id)
        """,
        [*[o.pk for o in outcomes], organization.pk, every],
    )


def explain(sql_source):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql_source[0], sql_source[1])
        return "\n".join(row[0] for row in cursor.fetchall())


def snapshot_queries(organization):
    """The refresh's two queries that read history tables: today's calls and today's state intervals."""
    from django.db.models import Count

    from floor import figures

    today = figures.today_range(organization)
    call_sql = figures._calls(organization.pk, today.start, today.end).values(
        "organization_id").annotate(**figures._CALL_SUMS).order_by().query.sql_with_params()
    state_sql = figures._states(organization.pk, today.start, today.end).values(
        "agent_id", "state").annotate(n=Count("id")).order_by().query.sql_with_params()
    return call_sql, state_sql


def rollup_cube_sql(organization, period):
    """The reports' read of the rollup: calls per agent and local hour over the period's whole quarters."""
    from django.db.models import Sum
    from django.db.models.functions import TruncHour

    from floor import rollup
    from floor.models import CallFigure

    start, end = rollup.quarter_ceil(period.start), rollup.quarter_floor(period.end)
    return (CallFigure.objects.filter(organization_id=organization.pk, bucket__gte=start, bucket__lt=end)
            .annotate(local_hour=TruncHour("bucket", tzinfo=period.zone)).values("agent_id", "local_hour")
            .annotate(placed=Sum("placed"), answered=Sum("answered"), talk=Sum("talk_seconds")).order_by()
            .query.sql_with_params())


def rollup_states_sql(organization, period):
    """The reports' read of the rollup's time in state over the period's whole quarters."""
    from django.db.models import Sum

    from floor import rollup
    from floor.models import StateFigure

    start, end = rollup.quarter_ceil(period.start), rollup.quarter_floor(period.end)
    return (StateFigure.objects.filter(organization_id=organization.pk, bucket__gte=start, bucket__lt=end)
            .values("agent_id", "state").annotate(spent=Sum("microseconds")).order_by().query.sql_with_params())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--states", type=int, default=2_000_000)
    args = parser.parse_args()
    setup_django()
    from django.utils import timezone

    from floor import figures, rollup
    from floor.models import CallFigure, DispositionFigure, StateFigure
    from floor.views import floor_snapshot

    organization, app, agents, reason, outcomes = make_organization()
    now = timezone.now()
    local_midnight = figures.today_range(organization, now).start
    today_seconds = max(int((now - local_midnight).total_seconds()) - 1, 60)
    # Today: 2,000 calls since local midnight, and each agent's intervals of today.
    add_calls(organization, app, agents, first_id=1, count=2_000, newest=now - timedelta(seconds=1),
              span_seconds=today_seconds)
    add_calls(organization, app, agents, first_id=2_001, count=8_000, newest=local_midnight - timedelta(seconds=1),
              span_seconds=29 * 86400)
    add_states(organization, agents, reason, per_agent=200, newest=now - timedelta(seconds=2),
               span_seconds=today_seconds)
    open_states(organization, agents, now - timedelta(seconds=2))
    add_dispositions(organization, outcomes, every=2)
    rollup.rebuild(organization.pk)
    with_sql("VACUUM ANALYZE")
    small_ms, small_queries = timed(lambda: floor_snapshot(organization), rounds=10)
    small_plans = [explain(sql) for sql in snapshot_queries(organization)]

    started = time.perf_counter()
    history = args.calls - 10_000
    add_calls(organization, app, agents, first_id=10_001, count=history, newest=local_midnight - timedelta(minutes=1),
              span_seconds=29 * 86400)
    per_agent = (args.states - AGENTS * 200) // AGENTS
    add_states(organization, agents, reason, per_agent=per_agent, newest=local_midnight - timedelta(hours=1),
               span_seconds=29 * 86400)
    add_dispositions(organization, outcomes, every=2)
    with_sql("VACUUM ANALYZE")
    load_seconds = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rollup.rebuild(organization.pk)
    rebuild_seconds = round(time.perf_counter() - started, 1)
    with_sql("VACUUM ANALYZE")
    pass_ms, pass_queries = timed(lambda: rollup.roll_up(organization.pk), rounds=5)
    large_ms, large_queries = timed(lambda: floor_snapshot(organization), rounds=10)
    large_plans = [explain(sql) for sql in snapshot_queries(organization)]

    today = figures.local_today(organization)
    period = figures.date_range(organization, today - timedelta(days=29), today)
    # One `now` for every report: open state intervals run to it, so both ways see the same moment.
    at = timezone.now()
    reports = {
        "totals": lambda raw: figures.totals(organization.pk, period, at, use_rollup=not raw),
        "by agent": lambda raw: figures.by_agent(organization.pk, period, at, use_rollup=not raw),
        "by disposition": lambda raw: figures.by_disposition(organization.pk, period, at, use_rollup=not raw),
        "by hour of day": lambda raw: figures.by_hour(organization.pk, period, at, use_rollup=not raw),
        "by day": lambda raw: figures.by_day(organization.pk, period, at, use_rollup=not raw),
        "reports page (figures.report: every table)": lambda raw: figures.report(organization.pk, period, at,
                                                                                 use_rollup=not raw),
    }
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM calls_call")
        calls_total = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM agents_agentstate")
        states_total = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM agents_calldisposition")
        dispositions_total = cursor.fetchone()[0]
    rolled = {model.__name__: model.objects.count() for model in (CallFigure, StateFigure, DispositionFigure)}

    print(f"rows: {calls_total} calls, {states_total} agent-state intervals, {dispositions_total} dispositions "
          f"(history loaded in {load_seconds} s)")
    print(f"rollup rows: {rolled} (rebuilt from the raw tables in {rebuild_seconds} s)")
    print(f"rollup pass with nothing new (the worker's minutely job): {pass_ms} ms, {pass_queries} queries")
    print(f"dashboard refresh with 10,000 calls:   {small_ms} ms, {small_queries} queries")
    print(f"dashboard refresh with {calls_total:,} calls: {large_ms} ms, {large_queries} queries")
    for name, function in reports.items():
        same = function(False) == function(True)
        ms, queries = timed(functools.partial(function, False), rounds=3)
        raw_ms, raw_queries = timed(functools.partial(function, True), rounds=1)
        print(f"30-day {name}: {ms} ms, {queries} queries from the rollup "
              f"(raw: {raw_ms} ms, {raw_queries} queries; same result: {same})")
    print("\nEXPLAIN, 30-day report's calls from the rollup:\n" + explain(rollup_cube_sql(organization, period)))
    print("\nEXPLAIN, 30-day report's time in state from the rollup:\n"
          + explain(rollup_states_sql(organization, period)))
    print("\nEXPLAIN, refresh with 10,000 calls:\n" + "\n\n".join(small_plans))
    print(f"\nEXPLAIN, refresh with {calls_total:,} calls:\n" + "\n\n".join(large_plans))


if __name__ == "__main__":
    main()
