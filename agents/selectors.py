"""Reads about agents, their calls and their presence, always scoped to one organization."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from agents.models import (
    Agent,
    AgentState,
    AgentStatus,
    Callback,
    CallDisposition,
    ConsoleConnection,
    Contact,
    ContactNumber,
    DeskSettings,
    Disposition,
    PauseReason,
)
from calls.models import LIVE_STATUSES, Call
from calls.selectors import as_id
from tenants.errors import ServiceError
from tenants.models import Organization
from tenants.scoping import membership_of

# A console tab sends a heartbeat every 25 s; one not heard from for this long is gone.
PRESENCE_WINDOW = timedelta(seconds=75)
RECENT_CALLS = 20

AGENT_STATES = [value for value, _ in AgentStatus.choices]
_NOT_READ = object()


def agent_open_state(*, agent: Agent) -> AgentState | None:
    """The agent's open state interval, or None (never logged in since states were recorded)."""
    return AgentState.objects.select_related("pause_reason").filter(agent=agent, ended_at__isnull=True).first()


def agent_state(*, agent: Agent) -> str:
    """The one place an agent's state is read (API, console, wallboard and admin all read it here).

    The state is the agent's open AgentState interval, written only by agents.states; an
    inactive agent, or one with no open interval, is offline. Lists annotate
    `current_state` (see `with_current_state`) so this reads nothing more.
    """
    if not agent.is_active:
        return AgentStatus.OFFLINE
    current = getattr(agent, "current_state", _NOT_READ)
    if current is _NOT_READ:
        open_state = agent_open_state(agent=agent)
        current = open_state.state if open_state else None
    return str(current or AgentStatus.OFFLINE)


def with_current_state(agents: QuerySet[Agent]) -> QuerySet[Agent]:
    """Annotate each agent with `current_state` and `current_pause_reason` from its open interval."""
    open_state = AgentState.objects.filter(agent=OuterRef("pk"), ended_at__isnull=True)
    return agents.annotate(
        current_state=Subquery(open_state.values("state")[:1]),
        current_pause_reason=Subquery(open_state.values("pause_reason__name")[:1]),
        current_state_since=Subquery(open_state.values("started_at")[:1]),
    )


def organization_time_zone(*, organization_id: int) -> str:
    """The IANA name every time of the organization is read and typed in."""
    return Organization.objects.filter(pk=organization_id).values_list("time_zone", flat=True).first() or "UTC"


def desk_settings(*, organization_id: int) -> DeskSettings:
    """The organization's desk settings; the defaults (unsaved) when it has none."""
    found = DeskSettings.objects.filter(organization_id=organization_id).first()
    return found or DeskSettings(organization_id=organization_id)


def agent_for_user(user):
    """The active agent behind a login that is still a member of the agent's organization, or None."""
    if not user or not user.is_authenticated:
        return None
    return (
        Agent.objects.select_related("organization", "user")
        .filter(user=user, is_active=True, user__membership__organization_id=F("organization_id"))
        .first()
    )


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
        .select_related("app", "disposition__disposition")
        .order_by("-created_at", "-id")[:limit]
    )


def agent_is_listening(*, agent):
    """True when at least one console tab of the agent is connected, in any process."""
    cutoff = timezone.now() - PRESENCE_WINDOW
    return ConsoleConnection.objects.filter(agent=agent, seen_at__gte=cutoff).exists()


def agents_whose_consoles_went_silent(*, cutoff: datetime) -> list[int]:
    """Agents Available or Paused whose console tabs all went silent (not heard from since
    `cutoff`) without closing: the web process holding their sockets died, so no close was
    ever seen."""
    return list(
        AgentState.objects.filter(
            ended_at__isnull=True, state__in=[AgentStatus.AVAILABLE, AgentStatus.PAUSED],
            agent__console_connections__seen_at__lt=cutoff,
        )
        .exclude(agent__console_connections__seen_at__gte=cutoff)
        .values_list("agent_id", flat=True)
        .distinct()
    )


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
        with_current_state(Agent.objects.filter(organization=organization, is_active=True))
        .select_related("user")
        .order_by("number")
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
        with_current_state(Agent.objects.filter(organization=organization))
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


def contact_for_number(*, organization_id: int, number: str) -> Contact | None:
    """The contact a number belongs to: how a call is linked to the contact it dialled."""
    found = (
        ContactNumber.objects.select_related("contact")
        .filter(organization_id=organization_id, number=number)
        .first()
    )
    return found.contact if found else None


def contact_search(*, organization_id: int, query: str = "") -> QuerySet[Contact]:
    contacts = Contact.objects.filter(organization_id=organization_id).prefetch_related("numbers")
    query = query.strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit() or ch == "+")
        match = Q(name__icontains=query) | Q(company__icontains=query) | Q(email__icontains=query) | Q(
            external_id=query)
        if len(digits.lstrip("+")) >= 3:
            match |= Q(numbers__number__contains=digits.lstrip("+"))
        contacts = contacts.filter(match).distinct()
    return contacts.order_by("name", "id")


def contact_get(*, organization_id: int, contact_id) -> Contact:
    pk = as_id(contact_id)
    contact = Contact.objects.filter(organization_id=organization_id, pk=pk).prefetch_related("numbers").first() \
        if pk else None
    if contact is None:
        raise ServiceError("Contact not found", status=404, code="contact_not_found")
    return contact


def agent_history(*, agent: Agent, query: str = "", disposition: str = "") -> QuerySet[Call]:
    """The agent's own calls, newest first, searchable by number, contact name and disposition code."""
    calls = Call.objects.filter(organization_id=agent.organization_id, agent=agent).select_related(
        "app", "disposition__disposition")
    query = query.strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        named = ContactNumber.objects.filter(
            organization_id=agent.organization_id, contact__name__icontains=query).values("number")
        match = Q(to_number__in=Subquery(named))
        if len(digits) >= 3:
            match |= Q(to_number__contains=digits)
        calls = calls.filter(match)
    if disposition:
        calls = calls.filter(disposition__disposition__code=disposition)
    return calls.order_by("-created_at", "-id")


def contact_recent_calls(*, organization_id: int, numbers: list[str], limit: int = 5) -> list[Call]:
    return list(
        Call.objects.filter(organization_id=organization_id, to_number__in=numbers)
        .select_related("agent__user", "disposition__disposition")
        .order_by("-created_at", "-id")[:limit]
    )


def agent_callbacks(*, agent: Agent) -> QuerySet[Callback]:
    """The agent's pending callbacks and those left for any agent of the organization."""
    return Callback.objects.filter(
        Q(agent=agent) | Q(agent__isnull=True, organization_id=agent.organization_id), status=Callback.Status.PENDING
    ).select_related("contact")


def organization_dispositions(*, organization_id: int) -> QuerySet[Disposition]:
    return Disposition.objects.filter(organization_id=organization_id, is_active=True)


def organization_pause_reasons(*, organization_id: int) -> QuerySet[PauseReason]:
    return PauseReason.objects.filter(organization_id=organization_id, is_active=True)


def call_disposition_get(*, organization_id: int, call_uuid: str) -> CallDisposition:
    row = CallDisposition.objects.select_related("call", "disposition").filter(
        organization_id=organization_id, call__request_uuid=call_uuid).first()
    if row is None:
        raise ServiceError("This call has no disposition", status=404, code="disposition_not_found")
    return row


def callback_get(*, organization_id: int, callback_id) -> Callback:
    callback = callback_search(organization_id=organization_id, ids=[callback_id]).first()
    if callback is None:
        raise ServiceError("Callback not found", status=404, code="callback_not_found")
    return callback


def callback_figures(*, organization_id: int, now: datetime) -> dict[str, int]:
    """For the floor, in one query: pending callbacks already due, and missed ones waiting to be reassigned."""
    return Callback.objects.filter(organization_id=organization_id).aggregate(
        due=Count("pk", filter=Q(status=Callback.Status.PENDING, due_at__lte=now)),
        missed=Count("pk", filter=Q(status=Callback.Status.MISSED)),
    )


def callback_search(*, organization_id: int, agent_id: int | None = None, status: str | None = None,
                    ids: list | None = None, anyone: bool | None = None) -> QuerySet[Callback]:
    rows = Callback.objects.filter(organization_id=organization_id).select_related("contact", "agent")
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    if anyone is not None:
        rows = rows.filter(agent__isnull=anyone)
    if status:
        rows = rows.filter(status=status)
    if ids is not None:
        rows = rows.filter(pk__in=[pk for pk in (as_id(i) for i in ids) if pk])
    return rows.order_by("due_at", "id")


def crm_link(*, template: str, contact: Contact | None, number: str) -> str | None:
    """The organization's CRM link template filled in for a contact; None without a template or an id it needs."""
    if not template or not template.startswith(("https://", "http://")):
        return None
    external_id = contact.external_id if contact else ""
    if "{external_id}" in template and not external_id:
        return None
    if "{contact_id}" in template and contact is None:
        return None
    from urllib.parse import quote

    return (template.replace("{external_id}", quote(external_id, safe=""))
            .replace("{contact_id}", str(contact.pk if contact else ""))
            .replace("{number}", quote(number, safe="")))


@dataclass(frozen=True)
class ScreenPop:
    number: str
    contact: Contact | None
    recent_calls: list[Call]
    crm_link: str | None


def screen_pop(*, organization_id: int, number: str) -> ScreenPop:
    """What the console shows as a call starts: who it is, their last calls, the link into the CRM."""
    contact = contact_for_number(organization_id=organization_id, number=number)
    numbers = [row.number for row in contact.numbers.all()] if contact else [number]
    settings = desk_settings(organization_id=organization_id)
    return ScreenPop(
        number=number,
        contact=contact,
        recent_calls=contact_recent_calls(organization_id=organization_id, numbers=numbers),
        crm_link=crm_link(template=settings.crm_link_template, contact=contact, number=number),
    )
