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
- logged-in time: every state but Offline; utilisation = (on call + wrap-up) / logged-in
  time; calls per hour = the agents' answered (handled) calls / logged-in hours;
- dispositions: the outcomes agents gave the calls placed in the period;
- pause share, by reason: time Paused with that reason / logged-in time (every state but
  Offline).

A period is a pair of UTC instants; `day_range` and `date_range` turn days of the
organization's calendar (its time zone) into one. Whole quarter hours already summed by
the rollup (floor/rollup.py) are read from it; the period's edges and the quarters not
yet summed are read from the calls and state tables, each query bounded by its piece of
the period on an indexed column. `use_rollup=False` reads everything raw.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least, TruncHour
from django.utils import timezone

from agents.models import Agent, AgentState, AgentStatus, CallDisposition, PauseReason
from calls.models import Call
from floor import rollup
from floor.models import CallFigure, DispositionFigure, StateFigure
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


def _calls(organization_id: int, start: datetime, end: datetime):
    # Bounded on (organization, created_at): the call_org_recent index.
    return Call.objects.filter(organization_id=organization_id, created_at__gte=start, created_at__lt=end)


_CALL_SUMS = {
    "placed": Count("id"),
    "answered": Count("id", filter=Q(answered_at__isnull=False)),
    "talk": Coalesce(Sum("duration", filter=Q(answered_at__isnull=False)), 0),
}
SUM_KEYS = ("placed", "answered", "talk", "agent_answered", "agent_talk")
Sums = dict[str, int]


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _average(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def _call_row(sums: Sums, wrap_up: float = 0.0) -> dict[str, Any]:
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


def _pieces(organization_id: int, period: Period, now: datetime, use_rollup: bool, *, dispositions: bool = False
            ) -> rollup.Split:
    if not use_rollup:
        return rollup.Split(None, [(period.start, period.end)])
    return rollup.split(organization_id, period.start, period.end, period.zone, now, dispositions=dispositions)


# The calls, summed per agent and hour of the organization's clock -------------------------

Cube = dict[tuple[int | None, datetime], Sums]


def _add(cube: Cube, agent_id: int | None, local_hour: datetime, zone: ZoneInfo, placed: int, answered: int,
         talk: int) -> None:
    # Keyed by the local wall-clock hour: a repeated hour (summer time ending) is one hour of the day.
    key = (agent_id, local_hour.astimezone(zone).replace(tzinfo=None))
    sums = cube.setdefault(key, dict.fromkeys(SUM_KEYS, 0))
    sums["placed"] += placed
    sums["answered"] += answered or 0
    sums["talk"] += talk or 0
    if agent_id is not None:
        sums["agent_answered"] += answered or 0
        sums["agent_talk"] += talk or 0


def call_cube(organization_id: int, period: Period, now: datetime | None = None, use_rollup: bool = True) -> Cube:
    """{(agent_id, local hour): sums} of the calls placed in the period: whole quarter hours
    from the rollup, the rest from the calls table."""
    now = now or timezone.now()
    pieces = _pieces(organization_id, period, now, use_rollup)
    cube: Cube = {}
    for start, end in pieces.raw:
        for row in (_calls(organization_id, start, end)
                    .annotate(local_hour=TruncHour("created_at", tzinfo=period.zone))
                    .values("agent_id", "local_hour").annotate(**_CALL_SUMS).order_by()):
            _add(cube, row["agent_id"], row["local_hour"], period.zone, row["placed"], row["answered"], row["talk"])
    if pieces.rolled is not None:
        start, end = pieces.rolled
        for row in (CallFigure.objects.filter(organization_id=organization_id, bucket__gte=start, bucket__lt=end)
                    .annotate(local_hour=TruncHour("bucket", tzinfo=period.zone))
                    .values("agent_id", "local_hour")
                    .annotate(placed=Sum("placed"), answered=Sum("answered"), talk=Sum("talk_seconds")).order_by()):
            _add(cube, row["agent_id"], row["local_hour"], period.zone, row["placed"], row["answered"], row["talk"])
    return cube


def _grouped(cube: Cube, key) -> dict[Any, Sums]:
    found: dict[Any, Sums] = {}
    for (agent_id, local_hour), sums in cube.items():
        group = key(agent_id, local_hour)
        if group is None:
            continue
        into = found.setdefault(group, dict.fromkeys(SUM_KEYS, 0))
        for name in SUM_KEYS:
            into[name] += sums[name]
    return found


# Time in state -------------------------------------------------------------------------

def _interval_seconds(start: datetime, end: datetime, now: datetime):
    """Time of each AgentState interval inside [start, end) (an open interval runs to `now`)."""
    ends = Least(Coalesce("ended_at", Value(now, output_field=DateTimeField())),
                 Value(end, output_field=DateTimeField()))
    begins = Greatest("started_at", Value(start, output_field=DateTimeField()))
    return ExpressionWrapper(ends - begins, output_field=DurationField())


def _states(organization_id: int, start: datetime, end: datetime):
    # Intervals overlapping the period: they end after its start (or are open) and begin before its end.
    # Bounded on (organization, ended_at) and the open-state index.
    return AgentState.objects.filter(organization_id=organization_id, started_at__lt=end).filter(
        Q(ended_at__gt=start) | Q(ended_at__isnull=True)
    )


_MICROSECOND = timedelta(microseconds=1)


# Microseconds spent per (agent, state, pause reason): whole microseconds, so the rollup's
# parts add up to exactly the raw sum.
Spent = dict[tuple[int, str, int | None], int]
StateSeconds = dict[int, dict[str, float]]


def _spent(organization_id: int, period: Period, now: datetime | None, use_rollup: bool) -> Spent:
    now = min(now or timezone.now(), period.end)
    if now <= period.start:
        return {}
    pieces = _pieces(organization_id, period, now, use_rollup)
    spent: Spent = defaultdict(int)
    for start, end in pieces.raw:
        if now <= start:
            continue
        for row in (_states(organization_id, start, end).values("agent_id", "state", "pause_reason_id")
                    .annotate(spent=Sum(_interval_seconds(start, end, now)))):
            spent[row["agent_id"], row["state"], row["pause_reason_id"]] += (
                (row["spent"] or timedelta(0)) // _MICROSECOND)
    if pieces.rolled is not None:
        start, end = pieces.rolled
        for row in (StateFigure.objects.filter(organization_id=organization_id, bucket__gte=start, bucket__lt=end)
                    .values("agent_id", "state", "pause_reason_id").annotate(spent=Sum("microseconds")).order_by()):
            spent[row["agent_id"], row["state"], row["pause_reason_id"]] += row["spent"] or 0
    return spent


def _per_agent(spent: Spent) -> StateSeconds:
    micro: dict[tuple[int, str], int] = defaultdict(int)
    for (agent_id, state, _reason), part in spent.items():
        micro[agent_id, state] += part
    found: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(STATES, 0.0))
    for (agent_id, state), total in micro.items():
        found[agent_id][state] = max(total / 1_000_000, 0.0)
    return dict(found)


def state_seconds(organization_id: int, period: Period, now: datetime | None = None,
                  use_rollup: bool = True) -> StateSeconds:
    """{agent_id: {state: seconds}} spent in each state during the period."""
    return _per_agent(_spent(organization_id, period, now, use_rollup))


def _pause_rows(spent: Spent) -> list[dict[str, Any]]:
    logged_in = sum(part for (_agent, state, _reason), part in spent.items() if state != AgentStatus.OFFLINE)
    paused: dict[int | None, int] = defaultdict(int)
    for (_agent, state, reason_id), part in spent.items():
        if state == AgentStatus.PAUSED:
            paused[reason_id] += part
    names = dict(PauseReason.objects.filter(pk__in=[pk for pk in paused if pk]).values_list("pk", "name"))
    rows = [{"reason": names.get(reason_id, "No reason") if reason_id else "No reason",
             "paused_seconds": round(micro / 1_000_000), "share": _ratio(micro, logged_in)}
            for reason_id, micro in paused.items() if micro > 0]
    return sorted(rows, key=lambda row: (-row["paused_seconds"], row["reason"]))


def by_pause_reason(organization_id: int, period: Period, now: datetime | None = None,
                    use_rollup: bool = True) -> list[dict[str, Any]]:
    """Time paused with each reason during the period, and its share of the time logged in."""
    return _pause_rows(_spent(organization_id, period, now, use_rollup))


def _occupancy(states: dict[str, float]) -> float | None:
    busy = states.get("on_call", 0) + states.get("wrap_up", 0)
    ready = busy + states.get("available", 0)
    return _ratio(busy, ready)



def _whole_floor(states: StateSeconds) -> dict[str, float]:
    in_state = dict.fromkeys(STATES, 0.0)
    for per_agent in states.values():
        for state, seconds in per_agent.items():
            in_state[state] += seconds
    return in_state


# The tables ----------------------------------------------------------------------------

_EMPTY: Sums = dict.fromkeys(SUM_KEYS, 0)


def _time_figures(states: dict[str, float], sums: Sums) -> dict[str, Any]:
    """Occupancy, utilisation and calls per hour of one agent's (or the floor's) time in state."""
    logged_in = sum(seconds for state, seconds in states.items() if state != AgentStatus.OFFLINE)
    handled = sums.get("agent_answered", sums["answered"])
    return {
        "occupancy": _occupancy(states),
        "utilisation": _ratio(states.get("on_call", 0) + states.get("wrap_up", 0), logged_in),
        "calls_per_hour": round(handled * 3600 / logged_in, 2) if logged_in else None,
    }


def totals_row(cube: Cube, states: StateSeconds) -> dict[str, Any]:
    in_state = _whole_floor(states)
    sums = _grouped(cube, lambda agent_id, hour: True).get(True, _EMPTY)
    row = _call_row(sums, in_state["wrap_up"])
    row["state_seconds"] = {state: round(seconds) for state, seconds in in_state.items()}
    row.update(_time_figures(in_state, sums))
    return row


def agent_rows(cube: Cube, states: StateSeconds) -> list[dict[str, Any]]:
    per_agent = _grouped(cube, lambda agent_id, hour: agent_id)
    ids = set(per_agent) | set(states)
    known = {agent.pk: agent for agent in Agent.objects.filter(pk__in=ids).select_related("user")}
    rows = []
    for agent_id in sorted(known, key=lambda pk: (known[pk].user.get_username(), pk)):
        spent = states.get(agent_id, dict.fromkeys(STATES, 0.0))
        sums = per_agent.get(agent_id, _EMPTY)
        rows.append({
            "agent_id": agent_id, "agent": known[agent_id].user.get_username(), "number": known[agent_id].number,
            **_call_row(sums, spent["wrap_up"]),
            "state_seconds": {state: round(seconds) for state, seconds in spent.items()},
            **_time_figures(spent, sums),
        })
    return rows


def _hour_rows(cube: Cube) -> list[dict[str, Any]]:
    hours = _grouped(cube, lambda agent_id, hour: hour.hour)
    return [{"hour": hour, **_call_row(hours.get(hour, _EMPTY))} for hour in range(24)]


def _day_rows(cube: Cube, period: Period) -> list[dict[str, Any]]:
    days = _grouped(cube, lambda agent_id, hour: hour.date())
    first = period.start.astimezone(period.zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.zone).date()
    return [{"day": (first + timedelta(days=n)).isoformat(), **_call_row(days.get(first + timedelta(days=n), _EMPTY))}
            for n in range((last - first).days + 1)]


def totals(organization_id: int, period: Period, now: datetime | None = None,
           states: StateSeconds | None = None, use_rollup: bool = True) -> dict[str, Any]:
    """The period's headline figures, the organization as a whole (`states`: state_seconds, if read already)."""
    if states is None:
        states = state_seconds(organization_id, period, now, use_rollup)
    return totals_row(call_cube(organization_id, period, now, use_rollup), states)


def by_agent(organization_id: int, period: Period, now: datetime | None = None,
             states: StateSeconds | None = None, use_rollup: bool = True) -> list[dict[str, Any]]:
    """One row per agent who placed a call or spent time in a state during the period."""
    if states is None:
        states = state_seconds(organization_id, period, now, use_rollup)
    return agent_rows(call_cube(organization_id, period, now, use_rollup), states)


def by_disposition(organization_id: int, period: Period, now: datetime | None = None,
                   use_rollup: bool = True) -> list[dict[str, Any]]:
    """How many of the period's calls got each outcome, and their talk time."""
    pieces = _pieces(organization_id, period, now or timezone.now(), use_rollup, dispositions=True)
    found: dict[tuple[str, str], list[int]] = {}
    for start, end in pieces.raw:
        for row in (CallDisposition.objects.filter(
                # A disposition is given after its call was placed: bounded on (organization, created_at).
                organization_id=organization_id, created_at__gte=start,
                call__created_at__gte=start, call__created_at__lt=end,
        ).values("disposition__code", "disposition__label")
                .annotate(calls=Count("id"), talk=Coalesce(Sum("call__duration"), 0)).order_by()):
            sums = found.setdefault((row["disposition__code"], row["disposition__label"]), [0, 0])
            sums[0] += row["calls"]
            sums[1] += row["talk"]
    if pieces.rolled is not None:
        start, end = pieces.rolled
        for row in (DispositionFigure.objects.filter(organization_id=organization_id, bucket__gte=start,
                                                     bucket__lt=end)
                    .values("disposition__code", "disposition__label")
                    .annotate(calls=Sum("calls"), talk=Sum("talk_seconds")).order_by()):
            sums = found.setdefault((row["disposition__code"], row["disposition__label"]), [0, 0])
            sums[0] += row["calls"]
            sums[1] += row["talk"]
    ordered = sorted(found.items(), key=lambda item: (-item[1][0], item[0][1], item[0][0]))
    return [{"code": code, "label": label, "calls": calls, "talk_seconds": talk}
            for (code, label), (calls, talk) in ordered if calls]


def by_hour(organization_id: int, period: Period, now: datetime | None = None,
            use_rollup: bool = True) -> list[dict[str, Any]]:
    """24 rows, hour of day in the organization's time zone."""
    return _hour_rows(call_cube(organization_id, period, now, use_rollup))


def by_day(organization_id: int, period: Period, now: datetime | None = None,
           use_rollup: bool = True) -> list[dict[str, Any]]:
    """One row per day of the period, days of the organization's calendar."""
    return _day_rows(call_cube(organization_id, period, now, use_rollup), period)


def report(organization_id: int, period: Period, now: datetime | None = None,
           use_rollup: bool = True) -> dict[str, Any]:
    """Every table of the reports page, reading the calls once and the state intervals once.

    The calls are summed per agent and hour of the organization's clock (at most agents x
    hours rows, from the rollup's quarter hours and the raw edges); totals, agents, hours
    of day and days are added up from those sums.
    """
    now = now or timezone.now()
    spent = _spent(organization_id, period, now, use_rollup)
    states = _per_agent(spent)
    cube = call_cube(organization_id, period, now, use_rollup)
    return {
        "totals": totals_row(cube, states),
        "agent": agent_rows(cube, states),
        "disposition": by_disposition(organization_id, period, now, use_rollup),
        "pause": _pause_rows(spent),
        "hour": _hour_rows(cube),
        "day": _day_rows(cube, period),
    }


def call_seconds_live(call: Call, now: datetime) -> int:
    """How long a live call has lasted: talking since it was answered, else since it was placed."""
    since = call.answered_at or call.started_at or call.created_at
    return max(int((now - since).total_seconds()), 0)
