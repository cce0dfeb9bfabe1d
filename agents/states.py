"""The one writer of agent states: every change closes the open interval and opens the next.

States (agents.models.AgentStatus): Available, On call, Wrap-up, Paused (with a reason),
Offline. The rules, enforced here whatever door a change comes in by (console, /api/v1,
click-to-call, the lifecycle's signal, a task):

- a call may be started only when Available; starting one moves the agent to On call;
- when a call of the agent ends, Wrap-up follows for the organization's wrap-up time and
  then Available, or Wrap-up lasts until the disposition is saved where one is required;
  the agent may end it early, or extend it once by the same time while it runs;
- On call is left only by the call ending;
- opening the console brings an Offline agent to Available; closing the last one takes
  an Available or Paused agent Offline once the presence window has passed, and so does
  the last one going silent (its web process died without closing it).

Each change is recorded (AgentState, with start and end), pushed to the agent's and the
organization's browsers on commit, and written to the desk webhooks' outbox.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from agents import selectors
from agents.models import Agent, AgentState, AgentStatus, CallDisposition, PauseReason
from agents.webhooks import desk_event_write
from calls import realtime
from calls.models import FINAL_STATUSES, Call
from calls.representations import iso
from tenants.errors import ServiceError

AGENT_BUSY = "Agent is already on a call; end it before starting another"


def state_public(state: AgentState | None, *, agent: Agent) -> dict:
    """An agent's state as the console, the wallboard, /api/v1 and webhooks show it."""
    return {
        "agent_id": agent.pk,
        "state": state.state if state else AgentStatus.OFFLINE.value,
        "label": AgentStatus(state.state).label if state else AgentStatus.OFFLINE.label,
        "pause_reason": state.pause_reason.name if state and state.pause_reason_id and state.pause_reason else None,
        "pause_reason_id": state.pause_reason_id if state else None,
        "since": iso(state.started_at) if state else None,
        "call_uuid": state.call.request_uuid if state and state.call_id and state.call else None,
        "wrap_up_until": iso(state.wrap_up_until) if state and state.wrap_up_until else None,
        "wrap_up_extended": bool(state and state.wrap_up_extended),
    }


def _locked_agent(agent: Agent) -> Agent:
    # Every state change of one agent takes the agent's row lock first, so they run one at a time.
    return Agent.objects.select_for_update().select_related("organization").get(pk=agent.pk)


def _move(agent: Agent, state: str, *, pause_reason: PauseReason | None = None, call: Call | None = None,
          now: datetime | None = None, wrap_up_until: datetime | None = None) -> AgentState:
    """Close the agent's open interval and open one in `state` (inside the caller's transaction)."""
    now = now or timezone.now()
    current = selectors.agent_open_state(agent=agent)
    if current and current.state == state and current.pause_reason_id == (pause_reason.pk if pause_reason else None) \
            and current.call_id == (call.pk if call else current.call_id):
        return current
    if current:
        AgentState.objects.filter(pk=current.pk, ended_at__isnull=True).update(ended_at=now)
    try:
        with transaction.atomic():
            opened = AgentState.objects.create(
                organization_id=agent.organization_id, agent=agent, state=state, pause_reason=pause_reason,
                call=call, started_at=now, wrap_up_until=wrap_up_until,
            )
    except IntegrityError:
        # Another change of this agent's state won the race (only possible without the row lock).
        raise ServiceError("The agent's state changed meanwhile; try again", status=409, code="conflict") from None
    _announce(agent, opened)
    return opened


def _announce(agent: Agent, state: AgentState) -> None:
    """Tell the desk webhooks (in this transaction) and the browsers (on commit) the agent's state."""
    public = state_public(state, agent=agent)
    desk_event_write(organization_id=agent.organization_id, event="agent.state_changed", data=public)
    transaction.on_commit(lambda: agent_state_push(agent, public))


def agent_state_push(agent: Agent, public: dict) -> None:
    message = realtime.framed({"type": "agent.state", "state": public})
    realtime.send(realtime.agent_group(agent.pk), message, wait=False)
    realtime.send(realtime.org_group(agent.organization_id), message, wait=False)


def _disposition_missing(agent: Agent, current: AgentState | None) -> bool:
    if current is None or current.state != AgentStatus.WRAP_UP or current.call_id is None:
        return False
    if not selectors.desk_settings(organization_id=agent.organization_id).disposition_required:
        return False
    return not CallDisposition.objects.filter(call_id=current.call_id).exists()


def _refuse_on_call(current: AgentState | None) -> None:
    if current and current.state == AgentStatus.ON_CALL:
        raise ServiceError("The agent is on a call; the state changes when the call ends", status=409,
                           code="agent_on_call")


def _refuse_missing_disposition(agent: Agent, current: AgentState | None) -> None:
    if _disposition_missing(agent, current):
        raise ServiceError("Save the call's disposition before leaving wrap-up", status=409,
                           code="disposition_required")


@transaction.atomic
def agent_pause(*, agent: Agent, pause_reason_id: int | None) -> AgentState:
    """Pause with one of the organization's reasons, or with none where its desk settings make
    the reason optional (not while on a call, nor in a wrap-up owing a disposition)."""
    agent = _locked_agent(agent)
    optional = not selectors.desk_settings(organization_id=agent.organization_id).pause_reason_required
    if pause_reason_id is None and optional:
        reason = None
    else:
        reason = PauseReason.objects.filter(
            organization_id=agent.organization_id, pk=pause_reason_id, is_active=True
        ).first() if isinstance(pause_reason_id, int) else None
        if reason is None:
            raise ServiceError("Choose one of the organization's pause reasons", status=400,
                               code="pause_reason_invalid")
    current = selectors.agent_open_state(agent=agent)
    _refuse_on_call(current)
    _refuse_missing_disposition(agent, current)
    return _move(agent, AgentStatus.PAUSED, pause_reason=reason)


@transaction.atomic
def agent_make_available(*, agent: Agent) -> AgentState:
    """Resume from a pause, log in, or end wrap-up early (once a required disposition is saved)."""
    agent = _locked_agent(agent)
    if not agent.is_active:
        raise ServiceError("The agent is deactivated", status=409, code="agent_inactive")
    current = selectors.agent_open_state(agent=agent)
    _refuse_on_call(current)
    _refuse_missing_disposition(agent, current)
    return _move(agent, AgentStatus.AVAILABLE)


@transaction.atomic
def agent_log_out(*, agent: Agent) -> AgentState:
    """Offline: not while on a call."""
    agent = _locked_agent(agent)
    current = selectors.agent_open_state(agent=agent)
    _refuse_on_call(current)
    return _move(agent, AgentStatus.OFFLINE)


def agent_state_set(*, agent: Agent, state: str, pause_reason_id: int | None = None) -> AgentState:
    """What /api/v1 and the console ask for: available, paused (with a reason) or offline."""
    if state == AgentStatus.PAUSED:
        return agent_pause(agent=agent, pause_reason_id=pause_reason_id)
    if state == AgentStatus.AVAILABLE:
        return agent_make_available(agent=agent)
    if state == AgentStatus.OFFLINE:
        return agent_log_out(agent=agent)
    raise ServiceError(
        "Only available, paused and offline can be set; on_call and wrap_up follow calls",
        status=400, code="state_not_settable",
    )


def agent_lock_for_call(*, agent: Agent) -> Agent:
    """Inside the transaction that starts a call: lock the agent and refuse unless Available."""
    locked = _locked_agent(agent)
    if not locked.is_active:
        raise ServiceError("The agent is deactivated", status=409, code="agent_not_available")
    current = selectors.agent_open_state(agent=locked)
    if current and current.state == AgentStatus.ON_CALL:
        raise ServiceError(AGENT_BUSY, status=409, code="agent_busy")
    if current is None or current.state != AgentStatus.AVAILABLE:
        label = AgentStatus(current.state).label if current else AgentStatus.OFFLINE.label
        paused_for = current.pause_reason if current and current.pause_reason_id else None
        reason = f" ({paused_for.name})" if paused_for else ""
        raise ServiceError(
            f"The agent is {label}{reason}, not Available: no call can be started", status=409,
            code="agent_not_available",
        )
    return locked


def agent_call_started(*, agent: Agent, call: Call) -> AgentState:
    """Inside the same transaction as agent_lock_for_call: On call with `call`."""
    return _move(agent, AgentStatus.ON_CALL, call=call)


def call_finished(sender, *, call: Call, **kwargs) -> None:
    """Receiver of lifecycle.transitioned (inside its transaction): wrap-up after an agent's call ends."""
    if call.status not in FINAL_STATUSES or not call.agent_id:
        return
    agent = _locked_agent(Agent(pk=call.agent_id))
    current = selectors.agent_open_state(agent=agent)
    if current is not None and current.call_id not in (None, call.pk) and current.state == AgentStatus.ON_CALL:
        return  # on another call already
    if current is not None and current.state not in (AgentStatus.ON_CALL, AgentStatus.AVAILABLE):
        return  # paused, offline or already wrapping up: a late report changes nothing
    settings = selectors.desk_settings(organization_id=agent.organization_id)
    if settings.wrap_up_seconds == 0 and not settings.disposition_required:
        _move(agent, AgentStatus.AVAILABLE)
        return
    now = timezone.now()
    until = now + timedelta(seconds=settings.wrap_up_seconds) if settings.wrap_up_seconds else None
    wrap = _move(agent, AgentStatus.WRAP_UP, call=call, now=now, wrap_up_until=until)
    if until:
        wrap_up_end.using(run_after=until).enqueue(wrap.pk)


@transaction.atomic
def wrap_up_extend(*, agent: Agent) -> AgentState:
    """More time for after-call work: the organization's wrap-up time again, once per wrap-up,
    while it still runs."""
    agent = _locked_agent(agent)
    current = selectors.agent_open_state(agent=agent)
    now = timezone.now()
    if current is None or current.state != AgentStatus.WRAP_UP or current.wrap_up_until is None \
            or current.wrap_up_until <= now or current.wrap_up_extended:
        raise ServiceError("Wrap-up can be extended once, while its time runs", status=409,
                           code="wrap_up_not_extendable")
    settings = selectors.desk_settings(organization_id=agent.organization_id)
    current.wrap_up_until += timedelta(seconds=settings.wrap_up_seconds)
    current.wrap_up_extended = True
    current.save(update_fields=["wrap_up_until", "wrap_up_extended"])
    wrap_up_end.using(run_after=current.wrap_up_until).enqueue(current.pk)
    _announce(agent, current)
    return current


@task()
def wrap_up_end(state_id: int) -> None:
    wrap_up_expire(state_id=state_id)


@transaction.atomic
def wrap_up_expire(*, state_id: int) -> AgentState | None:
    """Wrap-up time ran out: Available, unless the interval has ended or still owes a disposition."""
    wrap = AgentState.objects.filter(pk=state_id, ended_at__isnull=True, state=AgentStatus.WRAP_UP).first()
    if wrap is None:
        return None
    agent = _locked_agent(wrap.agent)
    current = selectors.agent_open_state(agent=agent)
    if current is None or current.pk != wrap.pk or _disposition_missing(agent, current):
        return None
    if current.wrap_up_until and current.wrap_up_until > timezone.now():
        # Early: the first timer of an extended wrap-up, or a worker whose clock runs ahead.
        # Due again at the wrap-up's own time, so no early timer leaves the agent in wrap-up.
        wrap_up_end.using(run_after=current.wrap_up_until).enqueue(current.pk)
        return None
    return _move(agent, AgentStatus.AVAILABLE)


def after_disposition(*, agent: Agent, call: Call) -> None:
    """A disposition was saved: a wrap-up waiting only for it ends (its time, if any, already over)."""
    current = selectors.agent_open_state(agent=agent)
    if current is None or current.state != AgentStatus.WRAP_UP or current.call_id != call.pk:
        return
    settings = selectors.desk_settings(organization_id=agent.organization_id)
    if not settings.disposition_required:
        return
    if current.wrap_up_until is None or current.wrap_up_until <= timezone.now():
        _move(_locked_agent(agent), AgentStatus.AVAILABLE)


# Presence: the console is the agent's log-in.

@transaction.atomic
def console_opened(*, agent: Agent) -> None:
    locked = Agent.objects.select_for_update().select_related("organization").filter(pk=agent.pk).first()
    if locked is None:
        return  # removed while its console was connecting: the removal closes the socket
    agent = locked
    current = selectors.agent_open_state(agent=agent)
    if agent.is_active and (current is None or current.state == AgentStatus.OFFLINE):
        _move(agent, AgentStatus.AVAILABLE)


def console_closed(*, agent: Agent) -> None:
    """The last console tab closed: go Offline once the presence window shows it is really gone."""
    if not selectors.agent_is_listening(agent=agent):
        run_after = timezone.now() + selectors.PRESENCE_WINDOW
        offline_if_absent.using(run_after=run_after).enqueue(agent.pk)


@task()
def offline_if_absent(agent_id: int) -> None:
    agent_absent_check(agent_id=agent_id)


@transaction.atomic
def agent_absent_check(*, agent_id: int) -> AgentState | None:
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is None or selectors.agent_is_listening(agent=agent):
        return None
    agent = _locked_agent(agent)
    current = selectors.agent_open_state(agent=agent)
    if current is None or current.state not in (AgentStatus.AVAILABLE, AgentStatus.PAUSED):
        return None
    return _move(agent, AgentStatus.OFFLINE)
