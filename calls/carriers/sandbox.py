"""The sandbox carrier: a simulated phone network with real timers.

What happens to a call depends on the last digit of the number dialled:

    5  busy                  6  rings, never answers (NO_ANSWER at ring_timeout)
    7  unreachable (FAILED)  8  answers and stays on until call_time_limit
    any other digit: rings, answers after SANDBOX_RING_SECONDS, and the callee hangs up
    SANDBOX_TALK_SECONDS after the customer's answer webhook gave Stream JSON.

Each step is a scheduled task that reports to the lifecycle exactly as a carrier's
callback would, with source "sandbox".

Bridged (click-to-call) calls have two legs but are one Call, so the legs map onto its
statuses like this:

    queued       nothing dialled yet
    ringing      the agent's phone rings, and stays so while the customer's phone rings
                 (the ring timeout covers both legs, from the first ring)
    answered     the customer picked up ...
    in_progress  ... and the two legs are bridged, straight after
    final        busy / failed / no_answer describe the customer's leg; completed once
                 either side hangs up after the bridge

The agent's leg always answers after SANDBOX_RING_SECONDS; the customer's leg then follows
the last-digit rules above.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls import jobs, lifecycle, recordings
from calls.carriers import sandbox_media
from calls.carriers.base import Carrier
from calls.jobs import job
from calls.models import FINAL_STATUSES, Call, CallStatus, CarrierKind

BUSY, NEVER_ANSWERS, UNREACHABLE, STAYS_ON = "5", "6", "7", "8"


def _later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


@job(priority=jobs.NETWORK)
def sandbox_step(call_id: int, step: str) -> None:
    call = Call.objects.get(pk=call_id)
    if call.status in FINAL_STATUSES:
        return  # hung up on our side; the simulated network has nothing more to say
    digit = call.to_number[-1]
    report = {"sandbox_step": step, "to": call.to_number}

    if step == "dial":
        if digit == UNREACHABLE:
            lifecycle.transition(call_id, CallStatus.FAILED, source="sandbox", payload=report, hangup_cause="41")
        elif digit == BUSY:
            lifecycle.transition(call_id, CallStatus.BUSY, source="sandbox", payload=report, hangup_cause="17")
        else:
            lifecycle.transition(call_id, CallStatus.RINGING, source="sandbox", payload=report)
            if digit != NEVER_ANSWERS:
                sandbox_step.using(run_after=_later(settings.SANDBOX_RING_SECONDS)).enqueue(call_id, "answer")
    elif step == "answer":
        # The call waits here until the customer's answer webhook is resolved (see answer_resolved).
        lifecycle.transition(call_id, CallStatus.ANSWERED, source="sandbox", payload=_disclosed(call, report),
                             note=_disclosure_note(call))
    elif step == "callee_hangup":
        lifecycle.transition(call_id, CallStatus.COMPLETED, source="sandbox", payload=report, hangup_cause="16")
    elif step == "agent_dial":
        report = {**report, "leg": "agent", "agent": call.agent.number if call.agent else ""}
        lifecycle.transition(call_id, CallStatus.RINGING, source="sandbox", payload=report)
        sandbox_step.using(run_after=_later(settings.SANDBOX_RING_SECONDS)).enqueue(call_id, "customer_dial")
    elif step == "customer_dial":
        # The agent picked up; only now is the customer dialled.
        report = {**report, "leg": "customer"}
        if digit == UNREACHABLE:
            lifecycle.transition(call_id, CallStatus.FAILED, source="sandbox", payload=report, hangup_cause="41")
        elif digit == BUSY:
            lifecycle.transition(call_id, CallStatus.BUSY, source="sandbox", payload=report, hangup_cause="17")
        elif digit != NEVER_ANSWERS:
            sandbox_step.using(run_after=_later(settings.SANDBOX_RING_SECONDS)).enqueue(call_id, "customer_answer")
    elif step == "customer_answer":
        report = {**report, "leg": "customer"}
        lifecycle.transition(call_id, CallStatus.ANSWERED, source="sandbox", payload=_disclosed(call, report),
                             note=_disclosure_note(call))
        lifecycle.transition(call_id, CallStatus.IN_PROGRESS, source="sandbox", payload={**report, "bridged": True})
        if digit != STAYS_ON:
            sandbox_step.using(run_after=_later(settings.SANDBOX_TALK_SECONDS)).enqueue(call_id, "customer_hangup")
    elif step == "customer_hangup":
        report = {**report, "leg": "customer"}
        lifecycle.transition(call_id, CallStatus.COMPLETED, source="sandbox", payload=report, hangup_cause="16")


def _disclosed(call: Call, report: dict) -> dict:
    """The answer report, with the recording disclosure the simulated callee heard first."""
    disclosure = recordings.disclosure_for(call)
    return {**report, "disclosure": disclosure} if disclosure else report


def _disclosure_note(call: Call) -> str:
    return "played the recording disclosure before recording" if recordings.disclosure_for(call) else ""


def answer_resolved(sender, *, call: Call, previous: str, **kwargs) -> None:
    """Receiver of lifecycle.transitioned: once the customer's answer webhook gave Stream JSON,
    the simulated callee starts talking, and hangs up later unless the number stays on.

    Like a real network, nothing moves on before the answer webhook is resolved, however
    far behind the worker is.
    """
    answered_sfvopi_call = (
        call.carrier == CarrierKind.SANDBOX and call.kind == Call.Kind.API
        and call.status == CallStatus.IN_PROGRESS and previous == CallStatus.ANSWERED
    )
    if not answered_sfvopi_call:
        return
    call_id = call.pk
    if call.to_number[-1] != STAYS_ON:
        # Queued with the move: a step queued after the commit would be lost to a worker
        # dying in between, leaving the call in progress for good.
        sandbox_step.using(run_after=_later(settings.SANDBOX_TALK_SECONDS)).enqueue(call_id, "callee_hangup")
    # The answer webhook's Stream JSON says where to stream the callee's audio.
    transaction.on_commit(lambda: sandbox_media.stream_follow(call_id=call_id))


class SandboxCarrier(Carrier):
    kind = "sandbox"

    def place(self, call):
        sandbox_step.enqueue(call.pk, "dial")
        return f"sbx-{uuid.uuid4()}"

    def place_bridged(self, call):
        sandbox_step.enqueue(call.pk, "agent_dial")
        return f"sbx-{uuid.uuid4()}"

    def hang_up(self, call):
        """Nothing to tell: the simulated network sees the call ended at its next step."""
