"""The one state machine of a call. A call's status changes here and nowhere else.

Every report (carrier callback, sandbox step, timer, hang-up request) becomes one call to
`transition` or `end`. The call row is locked, the move is checked against the table below
(forward only; duplicates and stale reports are recorded and ignored), the customer's
webhooks go into the outbox in the same transaction, and so do the tasks that follow the
move (webhook sends, timers, carrier hang-ups: see calls/jobs.py). Pushes to browsers leave
only once the transaction has committed.

The lifecycle calls nothing above it. What follows a move hangs off one seam, the
`transitioned` signal, sent inside the transaction that made the move; its receivers
(connected in calls/apps.py) write the outbox and queue their tasks there, and defer only
what leaves the database to commit:

    calls.delivery   the customer's webhooks (outbox rows and their sending tasks)
    calls.realtime   the push to browsers (on commit)
    calls.timers     the timer of the new deadline
    calls.placement  the carrier hang-up of a call we ended
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from calls.models import FINAL_STATUSES, Call, CallEvent, CallStatus

# Sent with call (as saved), previous (its status before), ended_here (True when we ended it:
# a hang-up request or a timer, so the carrier must be told) and answer_inline (see transition).
transitioned = Signal()

# How far along a call is; a report may only move a call to a higher rank.
_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.ANSWERED: 2,
    CallStatus.IN_PROGRESS: 3,
    **{status: 4 for status in FINAL_STATUSES},
}

# Q.850 causes used when the reporter gives none (docs/providers.md, "Hangup causes").
DEFAULT_HANGUP_CAUSE = {
    CallStatus.COMPLETED: "16",
    CallStatus.CANCELED: "16",
    CallStatus.ENDED: "16",
    CallStatus.BUSY: "17",
    CallStatus.NO_ANSWER: "19",
    CallStatus.FAILED: "41",
}
CAUSE_TIME_LIMIT = "31"

# The columns a move writes: the UPDATE stays short, and never rewrites what it does not own.
_MOVED_FIELDS = [
    "status", "started_at", "answered_at", "stream", "ended_at", "hangup_cause", "duration", "deadline_at",
    "carrier_call_id", "carrier_sequence",
]


@dataclass(frozen=True)
class Outcome:
    call: Call
    applied: bool
    note: str = ""


def transition(
    call_id: int,
    status: CallStatus | str,
    *,
    source: str,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
    hangup_cause: str = "",
    duration: int | None = None,
    sequence: int | None = None,
    carrier_call_id: str = "",
    stream: dict[str, Any] | None = None,
    note: str = "",
    answer_inline: bool = False,
) -> Outcome:
    """Move call `call_id` to `status` if that is a step forward; record the report either way.

    `answer_inline` says the reporter asks the customer's answer webhook itself, in its own
    request (Superfone upstream), so the worker only stands by in case it never does.
    """
    with transaction.atomic():
        call = _locked(call_id)
        return _apply(
            call,
            CallStatus(status),
            source=source,
            payload=payload,
            at=at,
            hangup_cause=hangup_cause,
            duration=duration,
            sequence=sequence,
            carrier_call_id=carrier_call_id,
            stream=stream,
            note=note,
            answer_inline=answer_inline,
        )


def end(call_id: int, *, source: str, reason: str = "hangup") -> Outcome:
    """End a live call on our side: a hang-up request, or one of our timers running out.

    The final status depends on how far the call got, read under the row lock:
    before answer CANCELED (NO_ANSWER when the ring timeout ran out), after answer
    COMPLETED; FAILED when the customer's answer webhook gave no stream. The carrier is
    then told to drop the call.
    """
    with transaction.atomic():
        call = _locked(call_id)
        return _end(call, source=source, reason=reason)


def expire_if_due(call_id: int) -> Outcome | None:
    """End the call if its deadline has passed; the timer task and the sweeper both land here."""
    with transaction.atomic():
        call = _locked(call_id)
        if call.deadline_at is None or call.deadline_at > timezone.now():
            return None
        return _end(call, source="timer", reason="deadline")


def _locked(call_id: int) -> Call:
    # The app comes along for the webhooks and the push; only the call's row is locked.
    return Call.objects.select_related("app").select_for_update(of=("self",)).get(pk=call_id)


def _end(call: Call, *, source: str, reason: str) -> Outcome:
    answered = call.status in (CallStatus.ANSWERED, CallStatus.IN_PROGRESS)
    if not call.carrier_reports_progress:
        status, cause = CallStatus.ENDED, DEFAULT_HANGUP_CAUSE[CallStatus.ENDED]
    elif reason == "deadline" and call.status == CallStatus.QUEUED:
        # Never placed in time, or placed and never heard of again: either way it failed.
        status, cause = CallStatus.FAILED, DEFAULT_HANGUP_CAUSE[CallStatus.FAILED]
        reason = "deadline: the carrier never reported progress" if call.carrier_call_id else "deadline: not placed in time"
    elif reason == "deadline":
        status = CallStatus.COMPLETED if answered else CallStatus.NO_ANSWER
        cause = CAUSE_TIME_LIMIT if answered else DEFAULT_HANGUP_CAUSE[CallStatus.NO_ANSWER]
    elif reason == "answer_failed":
        status = CallStatus.FAILED
        cause = DEFAULT_HANGUP_CAUSE[status]
    else:
        status = CallStatus.COMPLETED if answered else CallStatus.CANCELED
        cause = DEFAULT_HANGUP_CAUSE[status]
    return _apply(call, status, source=source, hangup_cause=cause, note=reason, ended_here=True)


def _rejection(call: Call, status: CallStatus, sequence: int | None) -> str:
    if sequence is not None and call.carrier_sequence is not None and sequence <= call.carrier_sequence:
        return f"stale: sequence {sequence} after {call.carrier_sequence}"
    if status == call.status:
        return "duplicate"
    if call.status in FINAL_STATUSES:
        return f"ignored: call already {call.status}"
    if _RANK[status] < _RANK[CallStatus(call.status)]:
        return f"stale: call already {call.status}"
    if status == CallStatus.IN_PROGRESS and call.status != CallStatus.ANSWERED:
        return "ignored: in_progress needs an answered call"
    return ""


def _apply(call: Call, status: CallStatus, *, source: str, payload: dict[str, Any] | None = None,
           at: datetime | None = None, hangup_cause: str = "", duration: int | None = None,
           sequence: int | None = None, carrier_call_id: str = "", stream: dict[str, Any] | None = None,
           note: str = "", ended_here: bool = False, answer_inline: bool = False) -> Outcome:
    previous = call.status
    rejection = _rejection(call, status, sequence)
    CallEvent.objects.create(
        call=call,
        source=source,
        status=status,
        previous_status=previous,
        applied=not rejection,
        note=(rejection or note)[:200],
        sequence=sequence,
        payload=payload or {},
    )
    if rejection:
        # A late report can still carry the carrier's id or a newer sequence number.
        changed = _remember_carrier(call, carrier_call_id, sequence)
        if changed:
            call.save(update_fields=changed)
        return Outcome(call, applied=False, note=rejection)

    now = at or timezone.now()
    call.status = status
    if status == CallStatus.RINGING or (call.started_at is None and _RANK[status] >= _RANK[CallStatus.RINGING]):
        call.started_at = call.started_at or now
    if status == CallStatus.ANSWERED:
        call.answered_at = now
    if status == CallStatus.IN_PROGRESS and stream is not None:
        call.stream = stream
    if status in FINAL_STATUSES:
        call.ended_at = now
        call.hangup_cause = hangup_cause or DEFAULT_HANGUP_CAUSE[status]
        if duration is not None:
            call.duration = max(int(duration), 0)
        elif call.answered_at:
            call.duration = max(int((now - call.answered_at).total_seconds()), 0)
    call.deadline_at = _deadline(call)
    _remember_carrier(call, carrier_call_id, sequence)
    call.save(update_fields=_MOVED_FIELDS)

    transitioned.send(sender=Call, call=call, previous=previous, ended_here=ended_here, answer_inline=answer_inline)
    return Outcome(call, applied=True, note=note)


def _remember_carrier(call: Call, carrier_call_id: str, sequence: int | None) -> list[str]:
    changed = []
    if carrier_call_id and not call.carrier_call_id:
        call.carrier_call_id = carrier_call_id
        changed.append("carrier_call_id")
    if sequence is not None and (call.carrier_sequence is None or sequence > call.carrier_sequence):
        call.carrier_sequence = sequence
        changed.append("carrier_sequence")
    return changed


def _deadline(call: Call) -> datetime | None:
    if call.status == CallStatus.RINGING and call.started_at:
        return call.started_at + timedelta(seconds=call.ring_timeout)
    if call.status in (CallStatus.ANSWERED, CallStatus.IN_PROGRESS) and call.answered_at:
        return call.answered_at + timedelta(seconds=call.call_time_limit)
    return None

