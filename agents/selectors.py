"""Reads about agents, their calls and their presence, always scoped to one organization."""

from datetime import timedelta

from django.utils import timezone

from agents.models import Agent, ConsoleConnection, Membership
from calls.models import LIVE_STATUSES, Call

# A console tab sends a heartbeat every 25 s; one not heard from for this long is gone.
PRESENCE_WINDOW = timedelta(seconds=75)
RECENT_CALLS = 20


def agent_for_user(user):
    """The active agent behind a login, or None."""
    if not user or not user.is_authenticated:
        return None
    return Agent.objects.select_related("organization", "user").filter(user=user, is_active=True).first()


def membership_for_user(user):
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.select_related("organization").filter(user=user).first()


def supervisor_organization(user):
    """The organization a staff login supervises, or None."""
    if not user or not user.is_authenticated or not user.is_staff:
        return None
    membership = membership_for_user(user)
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


def organization_agents(*, organization):
    """Every active agent of the organization with `live_call` (their live call or None) and `online`."""
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
    for agent in agents:
        agent.live_call = live.get(agent.pk)
        agent.online = agent.pk in online
    return agents
