"""Writes about agents and supervisors, click-to-call and console presence."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import selectors, states
from agents.models import Agent, AgentState, AgentStatus, ClickToCallNotification, ConsoleConnection
from agents.representations import notification_public
from calls import lifecycle, realtime
from calls import services as call_services
from calls.models import LIVE_STATUSES, Call
from tenants.errors import ServiceError
from tenants.models import Organization, Role
from tenants.services import membership_set

CLICK_TO_CALL_DISABLED = "Click-to-call is disabled for this agent"


@transaction.atomic
def agent_create(*, organization: Organization, username: str, password: str, number: str,
                 click_to_call_enabled: bool = True) -> Agent:
    user = get_user_model().objects.create_user(username=username, password=password)
    membership_set(user=user, organization=organization, role=Role.AGENT)
    agent = Agent.objects.create(
        user=user, organization=organization, number=number, click_to_call_enabled=click_to_call_enabled
    )
    # A new agent is ready to take calls (the click-to-call API needs no console open).
    AgentState.objects.create(
        organization=organization, agent=agent, state=AgentStatus.AVAILABLE, started_at=timezone.now()
    )
    return agent


@transaction.atomic
def supervisor_create(*, organization: Organization, username: str, password: str, role: str = Role.SUPERVISOR):
    """A staff login that runs (or, as a viewer, watches) its organization's floor from the admin."""
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    membership_set(user=user, organization=organization, role=role)
    return user


@transaction.atomic
def agent_click_to_call(*, agent: Agent, customer_number: str) -> Call:
    """Queue a bridged call: the agent's phone first, then `customer_number` (E.164).

    Only an Available agent may start one (agents.states); the agent is On call from here.
    """
    if not agent.click_to_call_enabled:
        raise ServiceError(CLICK_TO_CALL_DISABLED, status=403, code="click_to_call_disabled")
    locked = states.agent_lock_for_call(agent=agent)
    call = call_services.call_create(organization=locked.organization, agent=locked, to_number=customer_number)
    states.agent_call_started(agent=locked, call=call)
    return call


def agent_click_to_call_end(*, agent, customer_number=None):
    """Hang up the agent's live call (with `customer_number`, when given)."""
    calls = Call.objects.filter(organization_id=agent.organization_id, agent=agent, status__in=LIVE_STATUSES)
    if customer_number:
        calls = calls.filter(to_number=customer_number)
    call = calls.first()
    if call is None:
        message = f"No active call with {customer_number} for this agent" if customer_number else "No active call"
        raise ServiceError(message, status=409, code="no_active_call")
    outcome = lifecycle.end(call.pk, source="click_to_call", reason="hangup")
    if not outcome.applied:
        raise ServiceError(f"The call has already ended ({outcome.call.status})", status=409, code="call_ended")
    return outcome.call


def click_to_call_request(*, agent, action, customer_number):
    """One START or END of the click-to-call API: act, record the notification, push it on commit.

    `notification.sent_success` tells whether one of the agent's console tabs was there
    to receive the push.
    """
    with transaction.atomic():
        if action == ClickToCallNotification.Action.START:
            call = agent_click_to_call(agent=agent, customer_number=customer_number)
        else:
            call = agent_click_to_call_end(agent=agent, customer_number=customer_number)
        notification = ClickToCallNotification.objects.create(
            organization_id=agent.organization_id,
            agent=agent,
            action=action,
            customer_number=customer_number,
            call=call,
        )
        transaction.on_commit(lambda: _notification_push(notification))
    return notification


def _notification_push(notification):
    sent = selectors.agent_is_listening(agent=notification.agent) and realtime.agent_notification(
        notification.agent_id, notification_public(notification)
    )
    if sent:
        ClickToCallNotification.objects.filter(pk=notification.pk).update(sent_success=True)
        notification.sent_success = True


def console_connection_open(*, agent, channel_name):
    # Rows left behind by a process that died no longer count; clear them as the agent comes back.
    ConsoleConnection.objects.filter(agent=agent, seen_at__lt=timezone.now() - selectors.PRESENCE_WINDOW).delete()
    ConsoleConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"agent": agent, "seen_at": timezone.now()}
    )


def console_connection_seen(*, agent, channel_name):
    now = timezone.now()
    if not ConsoleConnection.objects.filter(channel_name=channel_name).update(seen_at=now):
        # Dropped as silent (its heartbeats were held up past the presence window): the tab
        # is alive after all, so it counts again.
        ConsoleConnection.objects.get_or_create(channel_name=channel_name, defaults={"agent": agent, "seen_at": now})


def silent_consoles_sign_out() -> int:
    """Take Offline the agents whose console tabs all went silent without closing (the web
    process holding their sockets died), as closing the last tab would have, and drop those
    tabs' rows. The worker's sweep runs it. Returns how many agents went Offline."""
    cutoff = timezone.now() - selectors.PRESENCE_WINDOW
    agent_ids = selectors.agents_whose_consoles_went_silent(cutoff=cutoff)
    signed_out = sum(states.agent_absent_check(agent_id=agent_id) is not None for agent_id in agent_ids)
    ConsoleConnection.objects.filter(agent_id__in=agent_ids, seen_at__lt=cutoff).delete()
    return signed_out


def console_connection_close(*, channel_name):
    ConsoleConnection.objects.filter(channel_name=channel_name).delete()


@transaction.atomic
def agent_enroll(*, organization, username, password, number, click_to_call_enabled=True):
    """`agent_create` for callers outside our own code (admin, REST API): refuses clashes with a clear error."""
    if get_user_model().objects.filter(username=username).exists():
        # Usernames are global (one login table); the message names no organization or person.
        raise ServiceError("That username is not available; choose another", status=409, code="username_taken")
    if Agent.objects.filter(organization=organization, number=number).exists():
        raise ServiceError(f"Another agent already uses {number}", status=409, code="agent_number_taken")
    try:
        with transaction.atomic():
            return agent_create(
                organization=organization,
                username=username,
                password=password,
                number=number,
                click_to_call_enabled=click_to_call_enabled,
            )
    except IntegrityError:
        raise ServiceError("The username or number was taken meanwhile", status=409, code="conflict") from None


def agent_update(*, agent, **fields):
    """Change an agent's number, click-to-call flag or active flag."""
    number = fields.get("number")
    clash = Agent.objects.filter(organization_id=agent.organization_id, number=number).exclude(pk=agent.pk)
    if number and clash.exists():
        raise ServiceError(f"Another agent already uses {number}", status=409, code="agent_number_taken")
    was_active = agent.is_active
    for name in ("number", "click_to_call_enabled", "is_active"):
        if name in fields:
            setattr(agent, name, fields[name])
    agent.save()
    if was_active != agent.is_active:
        # Deactivated: Offline (a live call runs to its end first); active again: Available.
        try:
            if agent.is_active:
                states.agent_make_available(agent=agent)
            else:
                states.agent_log_out(agent=agent)
        except ServiceError:
            pass
    return agent


def agent_deactivate(*, agent):
    """Stop an agent from taking click-to-call requests; a call already live runs to its end."""
    return agent_update(agent=agent, is_active=False)
