"""Writes for organizations, their people and their keys, and the agents' click-to-call."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents import selectors
from agents.auth import api_key_forget
from agents.models import Agent, ClickToCallNotification, ConsoleConnection, Membership
from agents.representations import notification_public
from calls import lifecycle, realtime, tasks
from calls.errors import ServiceError
from calls.models import LIVE_STATUSES, Call, CarrierKind, LinkedNumber, SfvopiApp
from calls.services import carrier_account_for

AGENT_BUSY = "Agent is already on a call; end it before starting another"
CLICK_TO_CALL_DISABLED = "Click-to-call is disabled for this agent"


@transaction.atomic
def agent_create(*, organization, username, password, number, click_to_call_enabled=True):
    user = get_user_model().objects.create_user(username=username, password=password)
    Membership.objects.create(user=user, organization=organization)
    return Agent.objects.create(
        user=user, organization=organization, number=number, click_to_call_enabled=click_to_call_enabled
    )


@transaction.atomic
def supervisor_create(*, organization, username, password):
    """A staff login that runs its organization's floor from the admin."""
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    return user


def _caller_id(organization, account):
    """The number customers see and the app whose webhooks the call reports to.

    The carrier account's caller ID when set, else the organization's first number
    linked to an active app.
    """
    active_links = LinkedNumber.objects.select_related("app").filter(
        organization=organization, app__isnull=False, app__status=SfvopiApp.Status.ACTIVE
    )
    if account and account.caller_id:
        linked = active_links.filter(number=account.caller_id).first()
        return account.caller_id, linked.app if linked else None
    linked = active_links.order_by("number").first()
    return (linked.number, linked.app) if linked else (None, None)


def agent_click_to_call(*, agent, customer_number):
    """Queue a bridged call: the agent's phone first, then `customer_number` (E.164).

    One live call per agent is the database's rule (the `one_live_call_per_agent`
    partial unique constraint), so two requests racing for one agent cannot both win.
    """
    if not agent.click_to_call_enabled:
        raise ServiceError(CLICK_TO_CALL_DISABLED, status=403, code="click_to_call_disabled")
    organization = agent.organization
    account = carrier_account_for(organization)
    caller_id, app = _caller_id(organization, account)
    if caller_id is None:
        raise ServiceError(
            "The organization has no number to call from: link a number to an active app or set a caller ID",
            status=422,
            code="no_caller_id",
        )
    try:
        with transaction.atomic():
            call = Call.objects.create(
                organization=organization,
                app=app,
                agent=agent,
                kind=Call.Kind.CLICK_TO_CALL,
                from_number=caller_id,
                to_number=customer_number,
                hangup_url=(app.hangup_url or "") if app else "",
                hangup_method=app.hangup_method if app else "POST",
                carrier=account.kind if account else CarrierKind.SANDBOX,
                carrier_account=account,
            )
            transaction.on_commit(lambda: tasks.place_call.enqueue(call.pk))
    except IntegrityError:
        if Call.objects.filter(agent=agent, status__in=LIVE_STATUSES).exists():
            raise ServiceError(AGENT_BUSY, status=409, code="agent_busy") from None
        raise
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


def console_connection_seen(*, channel_name):
    ConsoleConnection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def console_connection_close(*, channel_name):
    ConsoleConnection.objects.filter(channel_name=channel_name).delete()


@transaction.atomic
def agent_enroll(*, organization, username, password, number, click_to_call_enabled=True):
    """`agent_create` for callers outside our own code (admin, REST API): refuses clashes with a clear error."""
    if get_user_model().objects.filter(username=username).exists():
        raise ServiceError(f"Username {username!r} is already taken", status=409, code="username_taken")
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
    for name in ("number", "click_to_call_enabled", "is_active"):
        if name in fields:
            setattr(agent, name, fields[name])
    agent.save()
    return agent


def agent_deactivate(*, agent):
    """Stop an agent from taking click-to-call requests; a call already live runs to its end."""
    return agent_update(agent=agent, is_active=False)


def organization_api_key_revoke(*, key):
    """Revoke a key for good: this process refuses it at once, others within API_KEY_CACHE_SECONDS."""
    if not key.revoked:
        key.revoked = True
        key.save(update_fields=["revoked"])
    api_key_forget(key)
    return key
