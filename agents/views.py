"""The agent console and the supervisor wallboard: pages, and the small JSON endpoints they use.

The JSON endpoints take the session login (and CSRF for POST) and answer `{"message": ...}`
with a 4xx when they refuse. They call the same services as the click-to-call API.
"""

import json
from datetime import datetime
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import desk, selectors, services, states
from agents.representations import agent_public, agent_state_public
from calls import selectors as call_selectors
from calls.api.throttling import call_create_allowed
from calls.models import Recording
from calls.phone import InvalidPhoneNumber, to_e164
from calls.representations import call_public, iso
from tenants.errors import TOO_MANY, ServiceError, retry_after


def _json_error(message, status):
    return JsonResponse({"message": message}, status=status)


def _json_view(who):
    """Log-in and role checks for a JSON endpoint; ServiceErrors become `{"message"}` replies.

    `who(user)` returns what the view acts as (an agent, an organization), or None to refuse.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return _json_error("Log in first", 401)
            actor = who(request.user)
            if actor is None:
                return _json_error("This login may not use this page", 403)
            try:
                result = view(request, actor, *args, **kwargs)
                return result if isinstance(result, HttpResponse) else JsonResponse(result)
            except ServiceError as exc:
                return _json_error(exc.message, exc.status)

        return wrapper

    return decorate


def _page(who, template):
    @login_required
    def page(request):
        actor = who(request.user)
        if actor is None:
            raise PermissionDenied("This login may not use this page")
        return render(request, template, {"actor": actor})

    return page


wallboard = _page(selectors.supervisor_organization, "agents/wallboard.html")
_agent_console = _page(selectors.agent_for_user, "agents/console.html")


def home(request):
    """The front door: agents to their console, supervisors to admin, anyone else to the login."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    if selectors.agent_for_user(user) is not None:
        return redirect("console")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("login")


def console(request):
    # Logging in lands here (LOGIN_REDIRECT_URL); supervisors who take no calls belong on the wallboard.
    if selectors.agent_for_user(request.user) is None and selectors.supervisor_organization(request.user):
        return redirect("wallboard")
    return _agent_console(request)


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ServiceError("Send a JSON object") from None
    if not isinstance(body, dict):
        raise ServiceError("Send a JSON object")
    return body


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _desk_call(call) -> dict:
    """A call as the desk lists it: its public shape plus its disposition and note."""
    shown = call_public(call)
    try:
        row = call.disposition
    except ObjectDoesNotExist:
        row = None
    shown["disposition"] = (
        {"code": row.disposition.code, "label": row.disposition.label, "note": row.note} if row else None
    )
    return shown


def _settings_public(settings, time_zone: str) -> dict:
    return {
        "wrap_up_seconds": settings.wrap_up_seconds,
        "disposition_required": settings.disposition_required,
        "pause_reason_required": settings.pause_reason_required,
        # The organization's, as every time the agent reads or types.
        "time_zone": time_zone,
    }


@require_GET
@_json_view(selectors.agent_for_user)
def console_state(request, agent):
    current = selectors.agent_current_call(agent=agent)
    organization_id = agent.organization_id
    settings = selectors.desk_settings(organization_id=organization_id)
    return {
        "now": iso(timezone.now()),
        "agent": agent_public(agent),
        "agent_state": states.state_public(selectors.agent_open_state(agent=agent), agent=agent),
        "settings": _settings_public(settings, agent.organization.time_zone),
        "pause_reasons": [{"id": r.pk, "name": r.name}
                          for r in selectors.organization_pause_reasons(organization_id=organization_id)],
        "dispositions": [{"id": d.pk, "code": d.code, "label": d.label}
                         for d in selectors.organization_dispositions(organization_id=organization_id)],
        "callbacks": [desk.callback_public(c, time_zone=agent.organization.time_zone)
                      for c in selectors.agent_callbacks(agent=agent)],
        "current": call_public(current) if current else None,
        "recent": [_desk_call(call) for call in selectors.agent_recent_calls(agent=agent)],
    }


@require_POST
@_json_view(selectors.agent_for_user)
def console_agent_state(request, agent):
    body = _body(request)
    state = body.get("state")
    states.agent_state_set(agent=agent, state=state if isinstance(state, str) else "",
                           pause_reason_id=_int(body.get("pause_reason_id")))
    return {"agent_state": states.state_public(selectors.agent_open_state(agent=agent), agent=agent)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_wrap_up_extend(request, agent):
    return {"agent_state": states.state_public(states.wrap_up_extend(agent=agent), agent=agent)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_disposition(request, agent):
    body = _body(request)
    note = body.get("note") or ""
    row = desk.call_disposition_set(agent=agent, call_uuid=str(body.get("call_uuid") or ""),
                                    disposition_id=_int(body.get("disposition_id")),
                                    note=note if isinstance(note, str) else "")
    return {"disposition": desk.disposition_public(row),
            "agent_state": states.state_public(selectors.agent_open_state(agent=agent), agent=agent)}


@require_GET
@_json_view(selectors.agent_for_user)
def console_pop(request, agent):
    try:
        number = to_e164(request.GET.get("number"))
    except InvalidPhoneNumber as exc:
        raise ServiceError(f"Invalid number: {exc}") from None
    pop = selectors.screen_pop(organization_id=agent.organization_id, number=number)
    contact = pop.contact
    return {
        "number": pop.number,
        "contact": {
            "id": contact.pk, "name": contact.name, "company": contact.company, "email": contact.email,
            "notes": contact.notes, "external_id": contact.external_id, "tags": contact.tags,
        } if contact else None,
        "recent": [_desk_call(call) for call in pop.recent_calls],
        "crm_link": pop.crm_link,
    }


HISTORY_PAGE = 10


@require_GET
@_json_view(selectors.agent_for_user)
def console_history(request, agent):
    calls = selectors.agent_history(agent=agent, query=request.GET.get("q", "")[:100],
                                    disposition=request.GET.get("disposition", "")[:40])
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    start = (page - 1) * HISTORY_PAGE
    rows = list(calls[start:start + HISTORY_PAGE + 1])
    names = {}
    for call in rows:
        if call.to_number not in names:
            contact = selectors.contact_for_number(organization_id=agent.organization_id, number=call.to_number)
            names[call.to_number] = contact.name if contact else None
    # Our organization-checked audio URL of each recorded call (the agent's session may read it).
    recorded = dict(Recording.objects.filter(call__in=rows[:HISTORY_PAGE]).values_list("call_id", "pk"))
    return {
        "page": page,
        "has_next": len(rows) > HISTORY_PAGE,
        "calls": [
            {**_desk_call(call), "contact_name": names[call.to_number],
             "recording_url": f"/api/v1/recordings/{recorded[call.pk]}/audio" if call.pk in recorded else None}
            for call in rows[:HISTORY_PAGE]
        ],
    }


@require_GET
@_json_view(selectors.agent_for_user)
def console_contacts(request, agent):
    contacts = list(selectors.contact_search(organization_id=agent.organization_id,
                                             query=request.GET.get("q", "")[:100])[:20])
    numbers = {c.pk: [n.number for n in c.numbers.all()] for c in contacts}
    # Shown, so the agent sees why there is nothing to dial rather than meeting a refusal.
    listed = call_selectors.do_not_call_among(organization_id=agent.organization_id,
                                              numbers=[n for each in numbers.values() for n in each])
    return {"contacts": [
        {"id": c.pk, "name": c.name, "company": c.company, "numbers": numbers[c.pk],
         "do_not_call": [n for n in numbers[c.pk] if n in listed]}
        for c in contacts
    ]}


@require_POST
@_json_view(selectors.agent_for_user)
def console_callback(request, agent):
    body = _body(request)
    try:
        due = datetime.fromisoformat(str(body.get("due_at") or ""))
    except ValueError:
        raise ServiceError("Give the callback's date and time") from None
    note = body.get("note") or ""
    callback = desk.callback_schedule(
        organization_id=agent.organization_id, agent=None if body.get("anyone") is True else agent,
        number=str(body.get("number") or ""), due_at=due, note=note if isinstance(note, str) else "",
        contact_id=_int(body.get("contact_id")), call_uuid=body.get("call_uuid") or None,
    )
    return {"callback": desk.callback_public(callback, time_zone=agent.organization.time_zone)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_callback_take(request, agent, callback_id):
    callback = desk.callback_take(agent=agent, callback_id=callback_id)
    return {"callback": desk.callback_public(callback, time_zone=agent.organization.time_zone)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_callback_done(request, agent, callback_id):
    callback = desk.callback_done(organization_id=agent.organization_id, agent=agent, callback_id=callback_id)
    return {"callback": desk.callback_public(callback, time_zone=agent.organization.time_zone)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_start(request, agent):
    allowed, wait = call_create_allowed(agent.organization_id)
    if not allowed:
        response = _json_error(TOO_MANY, 429)
        response["Retry-After"] = retry_after(wait)
        return response
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        raise ServiceError("Send JSON with a customer_number") from None
    try:
        customer_number = to_e164(body.get("customer_number") if isinstance(body, dict) else None)
    except InvalidPhoneNumber as exc:
        raise ServiceError(f"Invalid number: {exc}") from None
    call = services.agent_click_to_call(agent=agent, customer_number=customer_number)
    return {"call": call_public(call)}


@require_POST
@_json_view(selectors.agent_for_user)
def console_end(request, agent):
    return {"call": call_public(services.agent_click_to_call_end(agent=agent))}


@require_GET
@_json_view(selectors.supervisor_organization)
def wallboard_state(request, organization):
    return {
        "now": iso(timezone.now()),
        "organization": organization.name,
        "agents": [agent_state_public(agent) for agent in selectors.organization_agents(organization=organization)],
        "calls": [call_public(call) for call in selectors.organization_live_calls(organization=organization)],
    }
