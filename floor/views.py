"""The supervisor's floor inside Django admin: the live dashboard, reports, CSV, and actions.

Every page runs behind `admin.site.admin_view` (a staff login) and acts for one
organization: the member's own, or for a superuser the one picked with `?org=`. The
read-only viewer sees everything here and may change nothing: the actions refuse them.
"""

import csv
import json
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import selectors as agent_selectors
from agents import states
from agents.models import Agent, AgentStatus
from calls import services as call_services
from calls.models import Call
from calls.representations import call_public, iso
from floor import figures
from tenants.display import clock
from tenants.errors import ServiceError
from tenants.models import ADMIN_ROLES, Organization, Role
from tenants.scoping import membership_of

REPORT_KINDS = ("agent", "disposition", "pause", "hour", "day")
LONGEST_REPORT_DAYS = 366


def floor_organization(request: HttpRequest) -> Organization | None:
    """The organization this login watches on the floor, or None when it may not."""
    user = request.user
    if user.is_superuser:
        picked = request.GET.get("org") or request.POST.get("org")
        found = Organization.objects.filter(pk=picked).first() if picked and str(picked).isdigit() else None
        return found or Organization.objects.order_by("pk").first()
    membership = membership_of(user)
    if membership is None or membership.role not in ADMIN_ROLES:
        return None
    return membership.organization


def may_act(request: HttpRequest) -> bool:
    """Supervisors and organization admins act on the floor; viewers only watch."""
    if request.user.is_superuser:
        return True
    membership = membership_of(request.user)
    return membership is not None and membership.role in (Role.SUPERVISOR, Role.ORG_ADMIN)


def _floor_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        organization = floor_organization(request)
        if organization is None:
            raise PermissionDenied("This login has no organization to supervise")
        return view(request, organization, *args, **kwargs)

    return admin.site.admin_view(wrapper)


def _context(request: HttpRequest, organization: Organization, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "organization": organization,
        "may_act": may_act(request),
        "organizations": Organization.objects.order_by("name") if request.user.is_superuser else [],
        **extra,
    }


# The dashboard -------------------------------------------------------------------------


def floor_snapshot(organization: Organization, now=None) -> dict[str, Any]:
    """Everything the dashboard shows, read in a fixed number of queries bounded by today."""
    now = now or timezone.now()
    today = figures.today_range(organization, now)
    floor_agents = agent_selectors.organization_agents(organization=organization)
    states_today = figures.state_seconds(organization.pk, today, now)
    # Today's calls read once (closed quarter hours from the rollup): the agents' rows and the totals.
    cube = figures.call_cube(organization.pk, today, now)
    per_agent = {row["agent_id"]: row for row in figures.agent_rows(cube, states_today)}
    live_calls = agent_selectors.organization_live_calls(organization=organization)
    desk_settings = agent_selectors.desk_settings(organization_id=organization.pk)
    agents = []
    for floor_agent in floor_agents:
        agent = floor_agent.agent
        state = agent_selectors.agent_state(agent=agent)
        since = getattr(agent, "current_state_since", None)
        today_row = per_agent.get(agent.pk, {})
        agents.append({
            "id": agent.pk,
            "username": agent.user.get_username(),
            "number": agent.number,
            "state": str(state),
            "label": AgentStatus(state).label,
            "pause_reason": getattr(agent, "current_pause_reason", None),
            "since": iso(since),
            "seconds_in_state": int((now - since).total_seconds()) if since else None,
            "console_open": floor_agent.online,
            "call": call_public(floor_agent.live_call) if floor_agent.live_call else None,
            "calls_today": today_row.get("placed", 0),
            "answered_today": today_row.get("answered", 0),
            "talk_seconds_today": today_row.get("talk_seconds", 0),
            "state_seconds_today": today_row.get("state_seconds", dict.fromkeys(figures.STATES, 0)),
            "occupancy_today": today_row.get("occupancy"),
        })
    return {
        "now": iso(now),
        "organization": organization.name,
        "time_zone": organization.time_zone,
        "today": today.start.astimezone(today.zone).date().isoformat(),
        "totals": figures.totals_row(cube, states_today),
        "agents": agents,
        "calls": [
            {**call_public(call), "agent_name": call.agent.user.get_username() if call.agent_id else None,
             "seconds": figures.call_seconds_live(call, now)}
            for call in live_calls
        ],
        "dispositions": figures.by_disposition(organization.pk, today, now),
        "pause_reasons": [
            {"id": reason.pk, "name": reason.name}
            for reason in agent_selectors.organization_pause_reasons(organization_id=organization.pk)
        ],
        "long_pause_seconds": desk_settings.long_pause_minutes * 60,
        "pause_reason_required": desk_settings.pause_reason_required,
        "agents_by_state": {status: sum(1 for agent in agents if agent["state"] == status)
                            for status in AgentStatus.values},
        "callbacks": agent_selectors.callback_figures(organization_id=organization.pk, now=now),
    }


@_floor_page
def dashboard(request, organization):
    return render(request, "floor/dashboard.html", _context(
        request, organization, title=f"Floor · {organization.name}",
        state_url=reverse("floor-state") + (f"?org={organization.pk}" if request.user.is_superuser else ""),
    ))


@require_GET
@_floor_page
def dashboard_state(request, organization):
    return JsonResponse(floor_snapshot(organization))


# Supervisor actions ------------------------------------------------------------------


def _action(view):
    @wraps(view)
    def wrapper(request, organization, *args, **kwargs):
        if not may_act(request):
            return JsonResponse({"message": "A read-only viewer may not change anything"}, status=403)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        try:
            return JsonResponse(view(request, organization, body if isinstance(body, dict) else {}, *args, **kwargs))
        except ServiceError as exc:
            return JsonResponse({"message": exc.message}, status=exc.status)

    return wrapper


def _agent(organization: Organization, agent_id: int) -> Agent:
    agent = Agent.objects.filter(organization=organization, pk=agent_id).first()
    if agent is None:
        raise ServiceError("Agent not found", status=404, code="agent_not_found")
    return agent


@require_POST
@_floor_page
@_action
def agent_pause(request, organization, body, agent_id):
    reason = body.get("pause_reason_id")
    state = states.agent_pause(agent=_agent(organization, agent_id), pause_reason_id=reason)
    return {"state": state.state}


@require_POST
@_floor_page
@_action
def agent_log_out(request, organization, body, agent_id):
    return {"state": states.agent_log_out(agent=_agent(organization, agent_id)).state}


@require_POST
@_floor_page
@_action
def call_hang_up(request, organization, body, request_uuid):
    call = Call.objects.filter(organization=organization, request_uuid=request_uuid).first()
    if call is None:
        raise ServiceError("Call not found", status=404, code="not_found")
    return {"call": call_public(call_services.call_hangup(call=call))}


# Reports -----------------------------------------------------------------------------


def report_period(request: HttpRequest, organization: Organization) -> tuple[date, date, list[str]]:
    """The days asked for (`first`, `last`, in the organization's calendar); last 7 days by default."""
    today = figures.local_today(organization)
    errors = []

    def day(name: str, default: date) -> date:
        raw = request.GET.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors.append(f"{name}: {raw!r} is not a date (YYYY-MM-DD)")
            return default

    first, last = day("first", today - timedelta(days=6)), day("last", today)
    if last < first:
        errors.append("The last day comes before the first; showing the first day only")
        last = first
    if (last - first).days >= LONGEST_REPORT_DAYS:
        errors.append(f"At most {LONGEST_REPORT_DAYS} days at once; showing the first {LONGEST_REPORT_DAYS}")
        last = first + timedelta(days=LONGEST_REPORT_DAYS - 1)
    return first, last, errors


def report_rows(kind: str, organization: Organization, period: figures.Period,
                states: figures.StateSeconds | None = None) -> list[dict[str, Any]]:
    if kind == "agent":
        return figures.by_agent(organization.pk, period, states=states)
    if kind == "disposition":
        return figures.by_disposition(organization.pk, period)
    if kind == "pause":
        return figures.by_pause_reason(organization.pk, period)
    if kind == "hour":
        return figures.by_hour(organization.pk, period)
    return figures.by_day(organization.pk, period)


@require_GET
@_floor_page
def reports(request, organization):
    first, last, errors = report_period(request, organization)
    period = figures.date_range(organization, first, last)
    # One read of the calls and one of the state intervals serve every table of the page.
    data = figures.report(organization.pk, period)
    totals = data.pop("totals")
    query = f"first={first.isoformat()}&last={last.isoformat()}"
    if request.user.is_superuser:
        query += f"&org={organization.pk}"
    return render(request, "floor/reports.html", _context(
        request, organization, title=f"Reports · {organization.name}", first=first, last=last, errors=errors,
        totals=totals, data=data, query=query, states=figures.STATES,
        state_labels=dict(AgentStatus.choices),
    ))


CSV_COLUMNS = {
    "agent": ["agent", "number", "placed", "answered", "answer_rate", "talk", "average_talk", "wrap_up",
              "average_handle", *[f"{state}_time" for state in figures.STATES], "occupancy", "utilisation",
              "calls_per_hour"],
    "disposition": ["code", "label", "calls", "talk"],
    "pause": ["reason", "paused", "share_of_logged_in"],
    "hour": ["hour", "placed", "answered", "answer_rate", "talk", "average_talk"],
    "day": ["day", "placed", "answered", "answer_rate", "talk", "average_talk"],
}


def _csv_row(kind: str, row: dict[str, Any]) -> list[Any]:
    def seconds(value):
        return "" if value is None else clock(value)

    common = [row.get("placed"), row.get("answered"), "" if row.get("answer_rate") is None else row["answer_rate"],
              seconds(row.get("talk_seconds")), seconds(row.get("average_talk_seconds"))]
    if kind == "agent":
        return [row["agent"], row["number"], *common, seconds(row["wrap_up_seconds"]),
                seconds(row["average_handle_seconds"]),
                *[seconds(row["state_seconds"][state]) for state in figures.STATES],
                *["" if row[name] is None else row[name] for name in ("occupancy", "utilisation", "calls_per_hour")]]
    if kind == "disposition":
        return [row["code"], row["label"], row["calls"], seconds(row["talk_seconds"])]
    if kind == "pause":
        return [row["reason"], seconds(row["paused_seconds"]), "" if row["share"] is None else row["share"]]
    return [row[kind], *common]


@require_GET
@_floor_page
def report_csv(request, organization, kind):
    if kind not in REPORT_KINDS:
        return HttpResponse("Unknown report", status=404, content_type="text/plain")
    first, last, _ = report_period(request, organization)
    period = figures.date_range(organization, first, last)
    response = HttpResponse(content_type="text/csv")
    name = "pauses-by-reason" if kind == "pause" else f"calls-by-{kind}"
    response["Content-Disposition"] = f'attachment; filename="{name}-{first}-to-{last}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS[kind])
    for row in report_rows(kind, organization, period):
        writer.writerow(_csv_row(kind, row))
    return response
