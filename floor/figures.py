"""The supervisor's figures: every number the floor and the reports show is computed here.

Definitions (as call-center people use them):

- placed: calls created in the period (a call belongs to the moment it was placed);
- answered: placed calls that were answered; answer rate = answered / placed;
- talk time: answered to hang-up (`Call.duration`); average talk = talk / answered calls;
- wrap-up: time agents spent in the Wrap-up state (AgentState intervals) in the period;
- average handle time (AHT) = (talk of the agents' answered calls + wrap-up) / those calls;
- time in state: each agent's AgentState intervals clipped to the period (an open one
  runs to now);
- occupancy = (on call + wrap-up) / (logged-in time - paused time), that is
  (on call + wrap-up) / (available + on call + wrap-up);
- dispositions: the outcomes agents gave the calls placed in the period.

A period is a pair of UTC instants; `day_range` and `date_range` turn days of the
organization's calendar (its time zone) into one. Every query is bounded by the period
on an indexed column, so the cost follows the period's rows, not the size of the tables.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, Greatest, Least, TruncDate, TruncHour
from django.utils import timezone

from agents.models import Agent, AgentState, AgentStatus, CallDisposition
from calls.models import Call
from tenants.models import Organization

STATES = [value for value, _ in AgentStatus.choices]


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    zone: ZoneInfo


def local_today(organization: Organization, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(organization.zone).date()


def date_range(organization: Organization, first: date, last: date) -> Period:
    """From the start of `first` to the end of `last`, days of the organization's calendar."""
    zone = organization.zone
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return Period(start, end, zone)


def day_range(organization: Organization, day: date) -> Period:
    return date_range(organization, day, day)


def today_range(organization: Organization, now: datetime | None = None) -> Period:
    return day_range(organization, local_today(organization, now))


def _calls(organization_id: int, period: Period):
    # Bounded on (organization, created_at): the call_org_recent index.
    return Call.objects.filter(
        organization_id=organization_id, created_at__gte=period.start, created_at__lt=period.end
    )


_CALL_SUMS = {
    "placed": Count("id"),
    "answered": Count("id", filter=Q(answered_at__isnull=False)),
    "talk": Coalesce(Sum("duration", filter=Q(answered_at__isnull=False)), 0),
    "agent_answered": Count("id", filter=Q(answered_at__isnull=False, agent__isnull=False)),
    "agent_talk": Coalesce(Sum("duration", filter=Q(answered_at__isnull=False, agent__isnull=False)), 0),
}


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def _call_row(sums: dict[str, Any], wrap_up: float = 0.0) -> dict[str, Any]:
    placed, answered, talk = sums["placed"], sums["answered"], sums["talk"]
    agent_answered, agent_talk = sums.get("agent_answered", answered), sums.get("agent_talk", talk)
    return {
        "placed": placed,
        "answered": answered,
        "answer_rate": _ratio(answered, placed),
        "talk_seconds": talk,
        "average_talk_seconds": _average(talk, answered),
        "wrap_up_seconds": round(wrap_up),
        "average_handle_seconds": _average(agent_talk + wrap_up, agent_answered),
    }


def _interval_seconds(period: Period, now: datetime):
    """Seconds of each AgentState interval inside `period` (an open interval runs to `now`)."""
    ends = Least(Coalesce("ended_at", Value(now, output_field=DateTimeField())),
                 Value(period.end, output_field=DateTimeField()))
    begins = Greatest("started_at", Value(period.start, output_field=DateTimeField()))
    return ExpressionWrapper(ends - begins, output_field=DurationField())


def _states(organization_id: int, period: Period):
    # Intervals overlapping the period: they end after its start (or are open) and begin before its end.
    # Bounded on (organization, ended_at) and the open-state index.
    return AgentState.objects.filter(organization_id=organization_id, started_at__lt=period.end).filter(
        Q(ended_at__gt=period.start) | Q(ended_at__isnull=True)
    )


def state_seconds(organization_id: int, period: Period, now: datetime | None = None) -> dict[int, dict[str, float]]:
    """{agent_id: {state: seconds}} spent in each state during the period."""
    now = min(now or timezone.now(), period.end)
    if now <= period.start:
        return {}
    rows = (
        _states(organization_id, period)
        .values("agent_id", "state")
        .annotate(spent=Sum(_interval_seconds(period, now)))
    )
    found: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(STATES, 0.0))
    for row in rows:
        spent = row["spent"]
        found[row["agent_id"]][row["state"]] = max(spent.total_seconds(), 0.0) if spent else 0.0
    return dict(found)


def pause_seconds_by_reason(organization_id: int, period: Period, now: datetime | None = None) -> dict[str, float]:
    now = min(now or timezone.now(), period.end)
    if now <= period.start:
        return {}
    rows = (
        _states(organization_id, period)
        .filter(state=AgentStatus.PAUSED)
        .values("pause_reason__name")
        .annotate(spent=Sum(_interval_seconds(period, now)))
    )
    return {row["pause_reason__name"] or "": row["spent"].total_seconds() for row in rows if row["spent"]}


def _occupancy(states: dict[str, float]) -> float | None:
    busy = states.get("on_call", 0) + states.get("wrap_up", 0)
    ready = busy + states.get("available", 0)
    return _ratio(busy, ready)


StateSeconds = dict[int, dict[str, float]]


def totals(organization_id: int, period: Period, now: datetime | None = None,
           states: StateSeconds | None = None) -> dict[str, Any]:
    """The period's headline figures, the organization as a whole (`states`: state_seconds, if read already)."""
    sums = _calls(organization_id, period).aggregate(**_CALL_SUMS)
    if states is None:
        states = state_seconds(organization_id, period, now)
    in_state = dict.fromkeys(STATES, 0.0)
    for per_agent in states.values():
        for state, seconds in per_agent.items():
            in_state[state] += seconds
    row = _call_row(sums, in_state["wrap_up"])
    row["state_seconds"] = {state: round(seconds) for state, seconds in in_state.items()}
    row["occupancy"] = _occupancy(in_state)
    return row


def by_agent(organization_id: int, period: Period, now: datetime | None = None,
             states: StateSeconds | None = None) -> list[dict[str, Any]]:
    """One row per agent who placed a call or spent time in a state during the period."""
    calls = {
        row["agent_id"]: row
        for row in _calls(organization_id, period).filter(agent__isnull=False).values("agent_id")
        .annotate(**{k: v for k, v in _CALL_SUMS.items() if not k.startswith("agent_")}).order_by()
    }
    if states is None:
        states = state_seconds(organization_id, period, now)
    ids = set(calls) | set(states)
    agents = {agent.pk: agent for agent in Agent.objects.filter(pk__in=ids).select_related("user")}
    rows = []
    for agent_id in sorted(ids, key=lambda pk: agents[pk].user.get_username() if pk in agents else ""):
        if agent_id not in agents:
            continue
        in_state = states.get(agent_id, dict.fromkeys(STATES, 0.0))
        sums = calls.get(agent_id, {"placed": 0, "answered": 0, "talk": 0})
        row = _call_row(sums, in_state["wrap_up"])
        rows.append({
            "agent_id": agent_id,
            "agent": agents[agent_id].user.get_username(),
            "number": agents[agent_id].number,
            **row,
            "state_seconds": {state: round(seconds) for state, seconds in in_state.items()},
            "occupancy": _occupancy(in_state),
        })
    return rows


def by_disposition(organization_id: int, period: Period) -> list[dict[str, Any]]:
    """How many of the period's calls got each outcome, and their talk time."""
    rows = (
        CallDisposition.objects.filter(
            # A disposition is given after its call was placed: bounded on (organization, created_at).
            organization_id=organization_id, created_at__gte=period.start,
            call__created_at__gte=period.start, call__created_at__lt=period.end,
        )
        .values("disposition__code", "disposition__label")
        .annotate(calls=Count("id"), talk=Coalesce(Sum("call__duration"), 0))
        .order_by("-calls", "disposition__label")
    )
    return [
        {"code": row["disposition__code"], "label": row["disposition__label"], "calls": row["calls"],
         "talk_seconds": row["talk"]}
        for row in rows
    ]


def by_hour(organization_id: int, period: Period) -> list[dict[str, Any]]:
    """24 rows, hour of day in the organization's time zone."""
    found = {
        row["hour"]: row
        for row in _calls(organization_id, period)
        .annotate(hour=ExtractHour("created_at", tzinfo=period.zone))
        .values("hour").annotate(**_CALL_SUMS).order_by()
    }
    empty = {"placed": 0, "answered": 0, "talk": 0}
    return [{"hour": hour, **_call_row(found.get(hour, empty))} for hour in range(24)]


def by_day(organization_id: int, period: Period) -> list[dict[str, Any]]:
    """One row per day of the period, days of the organization's calendar."""
    found = {
        row["day"]: row
        for row in _calls(organization_id, period)
        .annotate(day=TruncDate("created_at", tzinfo=period.zone))
        .values("day").annotate(**_CALL_SUMS).order_by()
    }
    empty = {"placed": 0, "answered": 0, "talk": 0}
    first = period.start.astimezone(period.zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [{"day": day.isoformat(), **_call_row(found.get(day, empty))} for day in days]


def report(organization_id: int, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Every table of the reports page, reading the calls once and the state intervals once.

    The calls are summed per agent and hour of the organization's clock (at most agents x
    hours rows); totals, agents, hours of day and days are added up from those sums.
    """
    states = state_seconds(organization_id, period, now)
    cube = list(
        _calls(organization_id, period)
        .annotate(local_hour=TruncHour("created_at", tzinfo=period.zone))
        .values("agent_id", "local_hour").annotate(**_CALL_SUMS).order_by()
    )
    keys = ("placed", "answered", "talk", "agent_answered", "agent_talk")

    def add(into: dict[Any, dict[str, int]], key: Any, row: dict[str, Any]) -> None:
        sums = into.setdefault(key, dict.fromkeys(keys, 0))
        for name in keys:
            sums[name] += row[name] or 0

    whole: dict[Any, dict[str, int]] = {}
    agents: dict[Any, dict[str, int]] = {}
    hours: dict[Any, dict[str, int]] = {}
    days: dict[Any, dict[str, int]] = {}
    for row in cube:
        local = row["local_hour"].astimezone(period.zone)
        add(whole, None, row)
        add(hours, local.hour, row)
        add(days, local.date(), row)
        if row["agent_id"] is not None:
            add(agents, row["agent_id"], row)
    empty = dict.fromkeys(keys, 0)
    in_state = dict.fromkeys(STATES, 0.0)
    for per_agent in states.values():
        for state, seconds in per_agent.items():
            in_state[state] += seconds
    total = _call_row(whole.get(None, empty), in_state["wrap_up"])
    total["state_seconds"] = {state: round(seconds) for state, seconds in in_state.items()}
    total["occupancy"] = _occupancy(in_state)
    ids = set(agents) | set(states)
    known = {agent.pk: agent for agent in Agent.objects.filter(pk__in=ids).select_related("user")}
    agent_rows = []
    for agent_id in sorted(known, key=lambda pk: known[pk].user.get_username()):
        spent = states.get(agent_id, dict.fromkeys(STATES, 0.0))
        sums = {**agents.get(agent_id, empty)}
        sums["agent_answered"], sums["agent_talk"] = sums["answered"], sums["talk"]
        agent_rows.append({
            "agent_id": agent_id, "agent": known[agent_id].user.get_username(), "number": known[agent_id].number,
            **_call_row(sums, spent["wrap_up"]),
            "state_seconds": {state: round(seconds) for state, seconds in spent.items()},
            "occupancy": _occupancy(spent),
        })
    first = period.start.astimezone(period.zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.zone).date()
    return {
        "totals": total,
        "agent": agent_rows,
        "disposition": by_disposition(organization_id, period),
        "hour": [{"hour": hour, **_call_row(hours.get(hour, empty))} for hour in range(24)],
        "day": [{"day": (first + timedelta(days=n)).isoformat(), **_call_row(days.get(first + timedelta(days=n), empty))}
                for n in range((last - first).days + 1)],
    }


def call_seconds_live(call: Call, now: datetime) -> int:
    """How long a live call has lasted: talking since it was answered, else since it was placed."""
    since = call.answered_at or call.started_at or call.created_at
    return max(int((now - since).total_seconds()), 0)
