"""The rollup gives the same reports as the raw tables: random calls, states and dispositions
over five days, in zones whose local hours straddle UTC's (Kolkata +5:30, Kathmandu +5:45),
with summer time (New York), and in UTC."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents import desk
from agents import services as agent_services
from agents.models import AgentState, CallDisposition, Disposition, PauseReason
from calls.models import Call
from floor import figures, rollup
from floor.models import CallFigure, FigureMark, StateFigure
from tests.floor.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STATES = ["available", "on_call", "wrap_up", "paused", "offline"]


def random_floor(tenant, zone: str, seed: int, now: datetime):
    """Five days before `now` of calls at random instants (some without an agent), back-to-back
    state intervals of random lengths (each agent's last one open), and dispositions."""
    rng = random.Random(seed)
    organization = tenant.organization
    organization.time_zone = zone
    organization.save()
    agents = [agent_services.agent_create(organization=organization, username=f"agent-{n}", password=PASSWORD,
                                          number=f"+91980000000{n}") for n in range(3)]
    AgentState.objects.filter(organization=organization).delete()
    outcomes = [Disposition.objects.create(organization=organization, code=code, label=code.title())
                for code in ("sale", "callback", "lost")]
    reasons = [PauseReason.objects.create(organization=organization, name=name) for name in ("Break", "Lunch")]
    begin = now - timedelta(days=5)
    for _ in range(250):
        created = begin + timedelta(seconds=rng.uniform(0, 5 * 86400 - 600), microseconds=rng.randrange(10**6))
        answered = rng.random() < 0.6
        agent = rng.choice([*agents, None])
        row = Call.objects.create(
            organization=organization, app=tenant.app, agent=agent, from_number=tenant.from_number,
            to_number="+918000000001", status="completed" if answered else "no_answer",
            answered_at=created + timedelta(seconds=5) if answered else None,
            duration=rng.randrange(1, 900) if answered else rng.choice([0, 3]), ended_at=created,
        )
        Call.objects.filter(pk=row.pk).update(created_at=created)
        if agent is not None and rng.random() < 0.5:
            saved = CallDisposition.objects.create(organization=organization, call=row, agent=agent,
                                                   disposition=rng.choice(outcomes))
            # Given a few minutes after the call, long before the rollup runs.
            CallDisposition.objects.filter(pk=saved.pk).update(updated_at=created + timedelta(minutes=5))
    for agent in agents:
        moment = begin - timedelta(hours=rng.uniform(0, 3))
        while True:
            length = timedelta(seconds=rng.choice([rng.uniform(1, 120), rng.uniform(60, 3600), rng.uniform(600, 30000)]),
                               microseconds=rng.randrange(10**6))
            name = rng.choice(STATES)
            ended = moment + length
            last = ended >= now - timedelta(minutes=20)
            AgentState.objects.create(organization=organization, agent=agent, state=name, started_at=moment,
                                      ended_at=None if last else ended,
                                      pause_reason=rng.choice(reasons) if name == "paused" else None)
            if last:
                break
            moment = ended
    return organization


ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "UTC"]


def periods(organization, now: datetime, rng: random.Random) -> list[figures.Period]:
    today = figures.local_today(organization, now)
    chosen = [
        figures.date_range(organization, today - timedelta(days=5), today),
        figures.date_range(organization, today - timedelta(days=3), today - timedelta(days=1)),
        figures.today_range(organization, now),
    ]
    for _ in range(4):  # arbitrary instants, not on any quarter hour
        start = now - timedelta(seconds=rng.uniform(3600, 5 * 86400))
        end = start + timedelta(seconds=rng.uniform(1800, 3 * 86400))
        chosen.append(figures.Period(start, min(end, now), organization.zone))
    return chosen


@pytest.mark.parametrize("zone", ZONES)
def test_reports_from_the_rollup_equal_the_raw_tables(tenant, zone):
    now = timezone.now()
    organization = random_floor(tenant, zone, seed=ZONES.index(zone), now=now)
    rng = random.Random(7)
    mark = rollup.roll_up(organization.pk)
    assert mark is not None and mark.rolled_until > now - timedelta(minutes=17)
    assert CallFigure.objects.filter(organization=organization).exists()
    for period in periods(organization, now, rng):
        pieces = rollup.split(organization.pk, period.start, period.end, period.zone, now)
        # Only the part already past can be rolled up: "today" just after midnight has none.
        if min(period.end, now) - period.start >= timedelta(hours=2):
            assert pieces.rolled is not None  # the rollup is really read
        assert figures.report(organization.pk, period, now) == figures.report(organization.pk, period, now,
                                                                              use_rollup=False)
        assert figures.by_disposition(organization.pk, period, now) == figures.by_disposition(
            organization.pk, period, now, use_rollup=False)
        assert figures.by_pause_reason(organization.pk, period, now) == figures.by_pause_reason(
            organization.pk, period, now, use_rollup=False)
        # Time in state to the microsecond, before the tables round it.
        assert figures.state_seconds(organization.pk, period, now) == figures.state_seconds(
            organization.pk, period, now, use_rollup=False)


def test_local_hours_of_a_half_hour_zone_are_not_utc_hours(tenant):
    """In Kolkata, 10:00-11:00 local is 04:30-05:30 UTC: a call at 04:40 UTC is at 10 local."""
    now = timezone.now()
    organization = random_floor(tenant, "Asia/Kolkata", seed=11, now=now)
    agent = organization.agents.first()
    day = figures.local_today(organization, now) - timedelta(days=2)
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4, minutes=40)
    before = {row["hour"]: row["placed"] for row in figures.by_hour(organization.pk, figures.day_range(
        organization, day), now, use_rollup=False)}
    row = Call.objects.create(organization=organization, app=tenant.app, agent=agent, from_number=tenant.from_number,
                              to_number="+918000000001", status="no_answer", ended_at=at)
    Call.objects.filter(pk=row.pk).update(created_at=at)
    rollup.rebuild(organization.pk)
    hours = {row["hour"]: row["placed"] for row in figures.by_hour(organization.pk, figures.day_range(
        organization, day), now)}
    assert hours[10] == before[10] + 1
    assert sum(hours.values()) == sum(before.values()) + 1


def test_a_disposition_saved_after_the_rollup_counts_at_once(tenant):
    now = timezone.now()
    organization = random_floor(tenant, "Asia/Kolkata", seed=3, now=now)
    rollup.roll_up(organization.pk)
    today = figures.local_today(organization, now)
    period = figures.date_range(organization, today - timedelta(days=5), today)
    saved = CallDisposition.objects.filter(organization=organization).order_by("call__created_at").first()
    other = Disposition.objects.filter(organization=organization).exclude(pk=saved.disposition_id).first()
    before = {row["code"]: row["calls"] for row in figures.by_disposition(organization.pk, period, now)}
    # The agent corrects the outcome of the oldest call (the service saves updated_at).
    desk.call_disposition_set(agent=None, call_uuid=saved.call.request_uuid, disposition_id=other.pk,
                              organization=organization)
    after = {row["code"]: row["calls"] for row in figures.by_disposition(organization.pk, period, now)}
    assert after[other.code] == before[other.code] + 1
    assert after == {row["code"]: row["calls"] for row in figures.by_disposition(
        organization.pk, period, now, use_rollup=False)}
    # The next pass sums that quarter again; the figures stay the same.
    rollup.roll_up(organization.pk, now + timedelta(minutes=2))
    assert after == {row["code"]: row["calls"] for row in figures.by_disposition(organization.pk, period, now)}


def test_a_live_call_holds_its_quarter_back(tenant):
    now = timezone.now()
    organization = random_floor(tenant, "UTC", seed=5, now=now)
    placed = now - timedelta(hours=3)
    row = Call.objects.create(organization=organization, app=tenant.app, from_number=tenant.from_number,
                              to_number="+918000000001", status="in_progress", answered_at=placed)
    Call.objects.filter(pk=row.pk).update(created_at=placed)
    mark = rollup.roll_up(organization.pk)
    assert mark.rolled_until == rollup.quarter_floor(placed)
    Call.objects.filter(pk=row.pk).update(status="completed", duration=600, ended_at=now)
    period = figures.date_range(organization, figures.local_today(organization, now) - timedelta(days=1),
                                figures.local_today(organization, now))
    assert figures.totals(organization.pk, period, now) == figures.totals(organization.pk, period, now,
                                                                          use_rollup=False)
    mark = rollup.roll_up(organization.pk)
    assert mark.rolled_until > placed
    assert figures.totals(organization.pk, period, now) == figures.totals(organization.pk, period, now,
                                                                          use_rollup=False)


def test_rebuild_command_sums_every_organization_again(tenant):
    now = timezone.now()
    organization = random_floor(tenant, "Asia/Kathmandu", seed=9, now=now)
    StateFigure.objects.all().delete()
    FigureMark.objects.all().delete()
    call_command("rebuild_floor_figures", "--organization", str(organization.pk), verbosity=0)
    mark = FigureMark.objects.get(organization=organization)
    assert mark.rolled_until >= rollup.quarter_floor(now) - timedelta(minutes=15)
    period = figures.date_range(organization, date.today() - timedelta(days=7), date.today())
    assert figures.state_seconds(organization.pk, period, now) == figures.state_seconds(
        organization.pk, period, now, use_rollup=False)


def test_one_organizations_rollup_never_reaches_anothers_reports(tenant, other_tenant):
    now = timezone.now()
    random_floor(tenant, "Asia/Kolkata", seed=13, now=now)
    other = other_tenant.organization
    assert rollup.roll_up_all() == 2
    assert not CallFigure.objects.filter(organization=other).exists()
    period = figures.date_range(other, figures.local_today(other, now) - timedelta(days=6),
                                figures.local_today(other, now))
    page = figures.report(other.pk, period, now)
    assert page["totals"]["placed"] == 0 and page["agent"] == [] and page["disposition"] == []
