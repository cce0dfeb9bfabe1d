"""Reads about agents, their calls and their presence, always scoped to one organization."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from agents.models import Agent, ConsoleConnection
from calls.models import LIVE_STATUSES, Call
from calls.selectors import as_id
from tenants.errors import ServiceError
from tenants.models import Organization
from tenants.scoping import membership_of

# A console tab sends a heartbeat every 25 s; one not heard from for this long is gone.
PRESENCE_WINDOW = timedelta(seconds=75)
RECENT_CALLS = 20

AGENT_STATES = ["available", "on_call", "inactive"]


def agent_state(*, is_active: bool, on_call: bool) -> str:
    """The one place an agent's state is derived (API, wallboard and admin all read it here)."""
    if not is_active:
        return "inactive"
    return "on_call" if on_call else "available"


def agent_for_user(user):
    """The active agent behind a login, or None."""
    if not user or not user.is_authenticated:
        return None
    return Agent.objects.select_related("organization", "user").filter(user=user, is_active=True).first()


def supervisor_organization(user) -> Organization | None:
    """The organization a staff login supervises, or None."""
    if not user or not user.is_authenticated or not user.is_staff:
        return None
    membership = membership_of(user)
    return membership.organization if membership else None


def agent_by_number(*, organization, number):
    return (
        Agent.objects.select_related("organization")
        .filter(organization=organization, number=number, is_active=True)
        .first()
    )


def agent_current_call(*, agent):
    return (
        Call.objects.filter(organization_id=agent.organization_id, agent=agent, status__in=LIVE_STATUSES)
        .select_related("app")
        .first()
    )


def agent_recent_calls(*, agent, limit=RECENT_CALLS):
    return list(
        Call.objects.filter(organization_id=agent.organization_id, agent=agent)
        .select_related("app")
        .order_by("-created_at", "-id")[:limit]
    )


def agent_is_listening(*, agent):
    """True when at least one console tab of the agent is connected, in any process."""
    cutoff = timezone.now() - PRESENCE_WINDOW
    return ConsoleConnection.objects.filter(agent=agent, seen_at__gte=cutoff).exists()


def organization_live_calls(*, organization):
    return list(
        Call.objects.filter(organization=organization, status__in=LIVE_STATUSES)
        .select_related("app", "agent__user")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class FloorAgent:
    """An agent as the wallboard shows them: their live call, if any, and whether a console is open."""

    agent: Agent
    live_call: Call | None
    online: bool


def organization_agents(*, organization: Organization) -> list[FloorAgent]:
    """Every active agent of the organization, as the wallboard shows them."""
    agents = list(
        Agent.objects.filter(organization=organization, is_active=True).select_related("user").order_by("number")
    )
    live = {call.agent_id: call for call in organization_live_calls(organization=organization) if call.agent_id}
    cutoff = timezone.now() - PRESENCE_WINDOW
    online = set(
        ConsoleConnection.objects.filter(agent__organization=organization, seen_at__gte=cutoff).values_list(
            "agent_id", flat=True
        )
    )
    return [FloorAgent(agent, live.get(agent.pk), agent.pk in online) for agent in agents]


def agent_list(*, organization: Organization) -> QuerySet[Agent]:
    """The organization's agents, each with `live_call_uuid`: the request_uuid of its live call, if any."""
    live = Call.objects.filter(agent=OuterRef("pk"), status__in=LIVE_STATUSES).order_by("-created_at")
    return (
        Agent.objects.filter(organization=organization)
        .select_related("user")
        .annotate(live_call_uuid=Subquery(live.values("request_uuid")[:1]))
        .order_by("id")
    )


def agent_get(*, organization: Organization, agent_id) -> Agent:
    pk = as_id(agent_id)
    agent = agent_list(organization=organization).filter(pk=pk).first() if pk else None
    if agent is None:
        raise ServiceError("Agent not found", status=404, code="agent_not_found")
    return agent
