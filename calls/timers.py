"""Timers: a call's deadline (ring timeout, call time limit) runs out in a scheduled task.

The sweeper (calls/sweeper.py) ends anything a lost or far-off timer left behind, so a
timer is an optimisation on top of `Call.deadline_at`, never the only guard.
"""

from datetime import timedelta

from django.utils import timezone

from calls import jobs, lifecycle
from calls.jobs import job
from calls.models import Call

# Deadlines further off than this are left to the sweeper (at most SWEEP_INTERVAL late):
# a timer task outlives a call that ends early, and every queued task slows the task
# worker's poll, so hours-long time limits would make timers cost follow past calls.
TIMER_HORIZON = timedelta(minutes=5)


@job(priority=jobs.TIMER)
def expire_deadline(call_id: int) -> None:
    lifecycle.expire_if_due(call_id)


def timer_schedule(sender, *, call: Call, **kwargs) -> None:
    """Receiver of lifecycle.transitioned: a timer for the new deadline, queued with the move."""
    deadline = call.deadline_at
    if deadline and deadline - timezone.now() <= TIMER_HORIZON:
        expire_deadline.using(run_after=deadline).enqueue(call.pk)
