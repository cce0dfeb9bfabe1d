"""The agent console and the supervisor wallboard: pages, and the small JSON endpoints they use.

The JSON endpoints take the session login (and CSRF for POST) and answer `{"message": ...}`
with a 4xx when they refuse. They call the same services as the click-to-call API.
"""

import json
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agents import selectors, services
from agents.representations import agent_public, agent_state_public
from calls.api.throttling import call_create_allowed
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


@require_GET
@_json_view(selectors.agent_for_user)
def console_state(request, agent):
    current = selectors.agent_current_call(agent=agent)
    return {
        "now": iso(timezone.now()),
        "agent": agent_public(agent),
        "current": call_public(current) if current else None,
        "recent": [call_public(call) for call in selectors.agent_recent_calls(agent=agent)],
    }


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
