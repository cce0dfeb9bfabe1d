"""Nothing lost: priorities, retries of transient failures, tasks of dead workers, deadlines,
and the answer webhook that nothing may skip."""

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from calls import delivery, jobs, lifecycle, placement, sweeper, timers
from calls.carriers import sandbox
from calls.models import Call, CallEvent, WebhookDelivery, WorkerHeartbeat
from tests.calls.test_sandbox_calls import place
from tests.conftest import STREAM_JSON, queued_call

pytestmark = pytest.mark.django_db(transaction=True)


def tasks_named(name, status=TaskResultStatus.READY):
    return DBTaskResult.objects.filter(task_path__endswith=f".{name}", status=status)


def test_the_answer_webhook_goes_before_a_backlog_of_other_work(tenant, webhook_server, run_tasks):
    ended = queued_call(tenant)
    lifecycle.end(ended.pk, source="api")
    for _ in range(300):  # a worker far behind: hundreds of due timers
        timers.expire_deadline.enqueue(ended.pk)
    call = place(tenant, webhook_server, "+918000000001")

    # Placing, dialling, the answer and its webhook jump the queue: a handful of tasks
    # moves the call to in_progress while the 300 timers still wait.
    run_tasks(limit=8)
    call.refresh_from_db()
    assert call.status == "in_progress"
    assert webhook_server.paths()[:2] == ["/ring", "/answer"] or webhook_server.paths()[:1] == ["/answer"]
    assert tasks_named("expire_deadline").count() >= 290

    run_tasks(wait=3, limit=1000)
    call.refresh_from_db()
    assert call.status == "completed"
    assert sorted(webhook_server.paths()) == ["/answer", "/hangup", "/ring"]


def test_the_sandbox_callee_waits_for_the_answer_webhook(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    placement.place(call.pk)
    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "answer")
    call.refresh_from_db()
    assert call.status == "answered"
    # However long the worker takes to ask the customer, the callee does not hang up first.
    assert not any(r.args_kwargs["args"][1:] == ["callee_hangup"] for r in tasks_named("sandbox_step"))

    delivery.resolve_answer(call.pk)
    assert [call.pk, "callee_hangup"] in [r.args_kwargs["args"] for r in tasks_named("sandbox_step")]
    answer = WebhookDelivery.objects.get(call=call, kind="answer")
    assert (answer.state, answer.attempts) == ("delivered", 1)


def test_a_worker_dying_straight_after_the_answer_commits_still_lets_the_call_end(
    tenant, webhook_server, run_tasks, monkeypatch
):
    call = place(tenant, webhook_server, "+918000000001")
    placement.place(call.pk)
    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "answer")

    # The worker that resolves the answer dies right after its transaction commits: nothing
    # it would have done after the commit happens.
    with monkeypatch.context() as dying:
        dying.setattr(BaseDatabaseWrapper, "run_and_clear_commit_hooks", lambda db: setattr(db, "run_on_commit", []))
        delivery.resolve_answer(call.pk)
    call.refresh_from_db()
    assert call.status == "in_progress"

    # Its task runs again (its worker went silent) and finds the answer resolved; the rest
    # of the call is already queued, so the callee hangs up and the customer hears of it.
    delivery.resolve_answer(call.pk)
    run_tasks(wait=3)
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("completed", "16")
    assert sorted(webhook_server.paths()) == ["/answer", "/hangup", "/ring"]


def test_a_task_that_loses_its_database_connection_is_retried(tenant, webhook_server, run_tasks, monkeypatch):
    call = place(tenant, webhook_server, "+918000000001")
    real_place, failures = placement.place, []

    def place_once_broken(call_id):
        if not failures:
            failures.append(call_id)
            raise OperationalError("server closed the connection unexpectedly")
        real_place(call_id)

    monkeypatch.setattr(placement, "place", place_once_broken)
    DBTaskResult.objects.all().delete()
    placement.place_call.call(call.pk)

    [retry] = tasks_named("place_call")
    assert retry.args_kwargs == {"args": [call.pk], "kwargs": {"retry": 1}}
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed" and call.carrier_attempts == 1


def test_a_retry_is_still_queued_when_the_database_fails_again_while_queuing_it(
    tenant, webhook_server, run_tasks, monkeypatch
):
    """Every backend terminated at once: the task fails, and so may the first try at queuing
    its retry. Lost, the sandbox's step would leave the call ringing into no_answer."""
    call = place(tenant, webhook_server, "+918000000001")
    real_place, real_enqueue, failures = placement.place, jobs.RequestTask.enqueue, []

    def place_once_broken(call_id):
        if not failures:
            failures.append("task")
            raise OperationalError("terminating connection due to administrator command")
        real_place(call_id)

    def enqueue_once_broken(self, *args, **kwargs):
        if failures == ["task"]:
            failures.append("requeue")
            raise OperationalError("terminating connection due to administrator command")
        return real_enqueue(self, *args, **kwargs)

    monkeypatch.setattr(placement, "place", place_once_broken)
    monkeypatch.setattr(jobs.RequestTask, "enqueue", enqueue_once_broken)
    monkeypatch.setattr(jobs, "REQUEUE_PAUSE_SECONDS", 0)
    DBTaskResult.objects.all().delete()
    placement.place_call.call(call.pk)

    assert failures == ["task", "requeue"]
    [retry] = tasks_named("place_call")
    assert retry.args_kwargs == {"args": [call.pk], "kwargs": {"retry": 1}}
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed" and call.carrier_attempts == 1


def test_a_task_whose_worker_went_silent_runs_again(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    [task] = tasks_named("place_call")
    task.claim("worker-that-died")
    jobs.workers_beat(["worker-that-died"])
    silent = timezone.now() - jobs.WORKER_SILENCE - timedelta(seconds=1)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=silent)
    sweeper.sweep()
    assert tasks_named("place_call", TaskResultStatus.RUNNING).count() == 1  # its worker still beats

    WorkerHeartbeat.objects.filter(worker_id="worker-that-died").update(seen_at=silent)
    sweeper.sweep()
    assert tasks_named("place_call").count() == 1
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed" and call.carrier_attempts == 1


def test_a_task_that_hangs_is_run_again_even_while_its_worker_beats(tenant):
    call = queued_call(tenant)
    placement.place_call.enqueue(call.pk)
    task = tasks_named("place_call").get()
    task.claim("a-live-worker")
    jobs.workers_beat(["a-live-worker"])
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - jobs.TASK_LEASE - timedelta(seconds=1))
    assert jobs.stale_tasks_recover() == 1
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.READY


def test_a_task_that_keeps_killing_its_workers_is_given_up(tenant):
    call = queued_call(tenant)
    placement.place_call.enqueue(call.pk)
    task = tasks_named("place_call").get()
    DBTaskResult.objects.filter(pk=task.pk).update(
        status=TaskResultStatus.RUNNING, worker_ids=[f"w{i}" for i in range(jobs.MAX_RECOVERIES)],
        started_at=timezone.now() - timedelta(hours=1),
    )
    assert jobs.stale_tasks_recover() == 0
    assert DBTaskResult.objects.get(pk=task.pk).status == TaskResultStatus.FAILED


def test_every_task_is_safe_to_run_twice(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    DBTaskResult.objects.all().delete()
    placement.place_call.call(call.pk)
    placement.place_call.call(call.pk)
    assert Call.objects.get(pk=call.pk).carrier_attempts == 1
    assert tasks_named("sandbox_step").count() == 1  # dialled once

    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "answer")
    delivery.resolve_answer_task.call(call.pk)
    delivery.resolve_answer_task.call(call.pk)
    ring = WebhookDelivery.objects.get(call=call, kind="ring")
    delivery.deliver_webhook.call(ring.pk)
    delivery.deliver_webhook.call(ring.pk)
    assert sorted(webhook_server.paths()) == ["/answer", "/ring"]

    Call.objects.filter(pk=call.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    timers.expire_deadline.call(call.pk)
    timers.expire_deadline.call(call.pk)
    assert CallEvent.objects.filter(call=call, status="completed").count() == 1


def test_a_queued_call_that_is_never_placed_fails_at_its_deadline(tenant, webhook_server, settings):
    call = place(tenant, webhook_server, "+918000000001")
    assert call.deadline_at is not None  # every live call has one, queued included
    Call.objects.filter(pk=call.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    sweeper.sweep()
    call.refresh_from_db()
    assert (call.status, call.hangup_cause) == ("failed", "41")
    assert call.events.last().note == "deadline: not placed in time"


def test_a_call_the_carrier_took_and_never_reported_on_fails_and_is_hung_up(tenant, webhook_server):
    call = place(tenant, webhook_server, "+918000000001")
    placement.place(call.pk)
    Call.objects.filter(pk=call.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    call.refresh_from_db()
    assert call.status == "failed"
    assert call.events.last().note == "deadline: the carrier never reported progress"
    assert tasks_named("carrier_hangup").count() == 1


def test_the_sweeper_never_queues_work_that_is_already_queued(tenant, webhook_server):
    call = place(tenant, webhook_server, "+918000000001")
    Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    for _ in range(3):
        sweeper.sweep()
    assert tasks_named("place_call").count() == 1

    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    sweeper.sweep()
    assert tasks_named("place_call").count() == 1


def test_an_answer_webhook_the_call_outlived_is_canceled_not_retried_forever(tenant, webhook_server):
    call = place(tenant, webhook_server, "+918000000001")
    lifecycle.transition(call.pk, "answered", source="carrier")
    lifecycle.end(call.pk, source="api")  # hung up before the worker asked the customer
    delivery.resolve_answer(call.pk)

    answer = WebhookDelivery.objects.get(call=call, kind="answer")
    assert (answer.state, answer.attempts) == ("canceled", 0)
    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    assert not tasks_named("resolve_answer_task").exists()
    assert "/answer" not in webhook_server.paths()


@pytest.mark.parametrize("answer_fails", [False, True], ids=["answer", "fallback"])
def test_an_answer_the_customer_gave_before_a_crash_moves_the_call_on_when_run_again(
        tenant, webhook_server, monkeypatch, answer_fails):
    # The customer answered (answer URL, or the fallback after the answer URL failed), then
    # the database connection was lost before the call moved on: the retry must not strand
    # the call in `answered`, nor ask the customer a second time.
    call = place(tenant, webhook_server, "+918000000001")
    if answer_fails:
        webhook_server.responses["/answer"] = (500, {}, 0)
        Call.objects.filter(pk=call.pk).update(fallback_answer_url=webhook_server.url("/fallback"))
        webhook_server.responses["/fallback"] = (200, STREAM_JSON, 0)
    placement.place(call.pk)
    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "answer")
    real_transition = lifecycle.transition

    def connection_lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(lifecycle, "transition", connection_lost)
    with pytest.raises(OperationalError):
        delivery.resolve_answer(call.pk)
    monkeypatch.setattr(lifecycle, "transition", real_transition)
    delivery.resolve_answer(call.pk)

    call.refresh_from_db()
    assert call.status == "in_progress" and call.stream["url"] == "wss://media.example.com/ws"
    asked = [path for path in webhook_server.paths() if path in ("/answer", "/fallback")]
    assert asked == (["/answer", "/fallback"] if answer_fails else ["/answer"])


def test_the_sweeper_resolves_an_answered_call_whose_resolution_was_lost(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, "+918000000001")
    placement.place(call.pk)
    sandbox.sandbox_step.call(call.pk, "dial")
    sandbox.sandbox_step.call(call.pk, "answer")
    answer = WebhookDelivery.objects.get(call=call, kind="answer")
    # The customer was asked and answered; the task that would have moved the call on is gone.
    WebhookDelivery.objects.filter(pk=answer.pk).update(
        state="delivered", attempts=1, response_code=200, response_body=json.dumps(STREAM_JSON))
    DBTaskResult.objects.all().delete()
    Call.objects.filter(pk=call.pk).update(answered_at=timezone.now() - delivery.ANSWER_BUDGET - timedelta(seconds=1))
    sweeper.sweep()
    sweeper.sweep()
    assert tasks_named("resolve_answer_task").count() == 1
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed" and call.stream["url"] == STREAM_JSON["stream"]["url"]
    assert "/answer" not in webhook_server.paths()


def test_an_answer_attempt_cut_off_before_the_call_ended_is_canceled_not_retried_forever(tenant, webhook_server):
    call = place(tenant, webhook_server, "+918000000001")
    lifecycle.transition(call.pk, "answered", source="carrier")
    # A worker took the answer (one attempt) and died with it; its lease has run out.
    WebhookDelivery.objects.filter(call=call, kind="answer").update(
        attempts=1, locked_until=timezone.now() - timedelta(seconds=1))
    lifecycle.end(call.pk, source="api")
    delivery.resolve_answer(call.pk)

    answer = WebhookDelivery.objects.get(call=call, kind="answer")
    assert (answer.state, answer.attempts) == ("canceled", 1)
    DBTaskResult.objects.all().delete()
    sweeper.sweep()
    assert not tasks_named("resolve_answer_task").exists()
