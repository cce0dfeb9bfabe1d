"""Agent states: recorded intervals, the rules on START, wrap-up after calls."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents import services, states
from agents.models import AgentState, CallDisposition
from agents.selectors import agent_state
from calls import lifecycle
from calls.models import CallStatus
from tenants.errors import ServiceError
from tests.desk.conftest import desk


def _end(call):
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")


def test_pausing_records_the_interval_and_refuses_start(agent, reasons):
    states.agent_pause(agent=agent, pause_reason_id=reasons["Lunch"].pk)

    with pytest.raises(ServiceError) as refused:
        services.agent_click_to_call(agent=agent, customer_number="+918000000111")

    assert refused.value.code == "agent_not_available" and refused.value.status == 409
    assert "Paused (Lunch)" in refused.value.message
    intervals = list(AgentState.objects.filter(agent=agent).order_by("started_at", "id"))
    assert [(i.state, i.ended_at is None) for i in intervals] == [("available", False), ("paused", True)]
    assert intervals[0].ended_at == intervals[1].started_at
    assert agent_state(agent=agent) == "paused"


def test_a_pause_reason_of_another_organization_is_refused(agent, other_tenant):
    from agents.models import PauseReason

    theirs = PauseReason.objects.create(organization=other_tenant.organization, name="Break")
    with pytest.raises(ServiceError) as refused:
        states.agent_pause(agent=agent, pause_reason_id=theirs.pk)
    assert refused.value.code == "pause_reason_invalid"


def test_a_pause_reason_is_required_unless_the_organization_makes_it_optional(tenant, agent, reasons, agent_client):
    with pytest.raises(ServiceError) as refused:
        states.agent_state_set(agent=agent, state="paused")
    assert refused.value.code == "pause_reason_invalid"

    desk(tenant, pause_reason_required=False)
    paused = tenant.api.put(f"/api/v1/agents/{agent.pk}/state", {"state": "paused", "pause_reason_id": None},
                            format="json")
    assert paused.status_code == 200, paused.json()
    assert (paused.json()["state"], paused.json()["pause_reason"]) == ("paused", None)
    assert AgentState.objects.get(agent=agent, ended_at=None).pause_reason is None
    # A reason given must still be one of the organization's.
    with pytest.raises(ServiceError) as refused:
        states.agent_pause(agent=agent, pause_reason_id=10**9)
    assert refused.value.code == "pause_reason_invalid"
    assert agent_client.get("/console/state").json()["settings"]["pause_reason_required"] is False


def test_a_call_puts_the_agent_on_call_then_back_to_available_without_wrap_up(agent):
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    assert agent_state(agent=agent) == "on_call"
    with pytest.raises(ServiceError):
        states.agent_make_available(agent=agent)
    _end(call)
    assert agent_state(agent=agent) == "available"


def test_wrap_up_lasts_the_organizations_time_and_may_be_ended_early(tenant, agent):
    desk(tenant, wrap_up_seconds=30)
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    _end(call)
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)
    assert (wrap.state, wrap.call_id) == ("wrap_up", call.pk)

    with pytest.raises(ServiceError) as refused:
        services.agent_click_to_call(agent=agent, customer_number="+918000000112")
    assert refused.value.code == "agent_not_available"

    states.agent_make_available(agent=agent)
    assert agent_state(agent=agent) == "available"


def test_wrap_up_time_running_out_makes_the_agent_available(tenant, agent):
    desk(tenant, wrap_up_seconds=30)
    _end(services.agent_click_to_call(agent=agent, customer_number="+918000000111"))
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)
    AgentState.objects.filter(pk=wrap.pk).update(wrap_up_until=timezone.now())  # its 30 s have passed

    states.wrap_up_expire(state_id=wrap.pk)

    assert agent_state(agent=agent) == "available"


def test_the_wrap_up_timer_is_queued_with_the_call_ending(tenant, agent):
    # No commit hook runs in this test's transaction: the timer must not wait for one, or a
    # worker dying straight after the call ended would leave the agent in wrap-up for good.
    desk(tenant, wrap_up_seconds=30)
    _end(services.agent_click_to_call(agent=agent, customer_number="+918000000111"))
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)

    [timer] = DBTaskResult.objects.filter(task_path__endswith=".wrap_up_end", status="READY")
    assert timer.args_kwargs["args"] == [wrap.pk]
    assert timer.run_after == wrap.started_at + timedelta(seconds=30)
    AgentState.objects.filter(pk=wrap.pk).update(wrap_up_until=timezone.now())  # its 30 s have passed
    timer.task.call(*timer.args_kwargs["args"])
    assert agent_state(agent=agent) == "available"


def test_a_required_disposition_holds_wrap_up_until_it_is_saved(tenant, agent, outcomes):
    desk(tenant, wrap_up_seconds=0, disposition_required=True)
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    _end(call)
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)

    states.wrap_up_expire(state_id=wrap.pk)
    with pytest.raises(ServiceError) as refused:
        states.agent_make_available(agent=agent)
    assert refused.value.code == "disposition_required"
    assert agent_state(agent=agent) == "wrap_up"

    from agents import desk as desk_services

    desk_services.call_disposition_set(agent=agent, call_uuid=call.request_uuid,
                                       disposition_id=outcomes["sale"].pk, note="Bought two")
    assert agent_state(agent=agent) == "available"
    assert CallDisposition.objects.get(call=call).note == "Bought two"


def test_closing_the_last_console_goes_offline_after_the_presence_window(agent):
    services.console_connection_open(agent=agent, channel_name="tab-1")
    services.console_connection_close(channel_name="tab-1")

    states.agent_absent_check(agent_id=agent.pk)
    assert agent_state(agent=agent) == "offline"

    states.console_opened(agent=agent)
    assert agent_state(agent=agent) == "available"


def test_a_console_still_open_keeps_the_agent_online(agent):
    services.console_connection_open(agent=agent, channel_name="tab-1")
    services.console_connection_open(agent=agent, channel_name="tab-2")
    services.console_connection_close(channel_name="tab-1")

    assert states.agent_absent_check(agent_id=agent.pk) is None
    assert agent_state(agent=agent) == "available"


def test_deactivating_an_agent_logs_them_out_and_reactivating_makes_them_available(agent):
    services.agent_deactivate(agent=agent)
    assert AgentState.objects.get(agent=agent, ended_at__isnull=True).state == "offline"
    services.agent_update(agent=agent, is_active=True)
    assert agent_state(agent=agent) == "available"


def test_wrap_up_may_be_extended_once_while_its_time_runs(tenant, agent):
    desk(tenant, wrap_up_seconds=30)
    _end(services.agent_click_to_call(agent=agent, customer_number="+918000000111"))
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)
    first_end = wrap.wrap_up_until
    assert first_end == wrap.started_at + timedelta(seconds=30)

    extended = states.wrap_up_extend(agent=agent)

    assert (extended.pk, extended.wrap_up_until, extended.wrap_up_extended) == (wrap.pk, first_end + timedelta(seconds=30), True)
    assert states.state_public(extended, agent=agent)["wrap_up_until"] is not None
    with pytest.raises(ServiceError) as refused:
        states.wrap_up_extend(agent=agent)
    assert (refused.value.status, refused.value.code) == (409, "wrap_up_not_extendable")

    # The first timer finds the extended time still running; the one queued with the extension ends it.
    timers = DBTaskResult.objects.filter(task_path__endswith=".wrap_up_end", status="READY").order_by("run_after")
    assert [t.run_after for t in timers] == [first_end, first_end + timedelta(seconds=30)]
    states.wrap_up_expire(state_id=wrap.pk)
    assert agent_state(agent=agent) == "wrap_up"
    AgentState.objects.filter(pk=wrap.pk).update(wrap_up_until=timezone.now())
    states.wrap_up_expire(state_id=wrap.pk)
    assert agent_state(agent=agent) == "available"


def test_a_wrap_up_timer_that_runs_early_comes_back_at_the_wrap_ups_time(tenant, agent):
    """A worker whose clock runs ahead of the one that queued the timer must not leave the
    agent in wrap-up for good."""
    desk(tenant, wrap_up_seconds=30)
    _end(services.agent_click_to_call(agent=agent, customer_number="+918000000111"))
    wrap = AgentState.objects.get(agent=agent, ended_at__isnull=True)
    DBTaskResult.objects.filter(task_path__endswith=".wrap_up_end").delete()

    states.wrap_up_expire(state_id=wrap.pk)

    assert agent_state(agent=agent) == "wrap_up"
    [again] = DBTaskResult.objects.filter(task_path__endswith=".wrap_up_end", status="READY")
    assert again.run_after == wrap.wrap_up_until
    AgentState.objects.filter(pk=wrap.pk).update(wrap_up_until=timezone.now())
    states.wrap_up_expire(state_id=wrap.pk)
    assert agent_state(agent=agent) == "available"


def test_wrap_up_cannot_be_extended_when_it_is_not_timed_or_not_running(tenant, agent, outcomes):
    with pytest.raises(ServiceError) as refused:
        states.wrap_up_extend(agent=agent)  # Available
    assert refused.value.code == "wrap_up_not_extendable"

    desk(tenant, wrap_up_seconds=0, disposition_required=True)
    _end(services.agent_click_to_call(agent=agent, customer_number="+918000000111"))
    assert agent_state(agent=agent) == "wrap_up"
    with pytest.raises(ServiceError) as refused:
        states.wrap_up_extend(agent=agent)  # held for a disposition, with no time to extend
    assert refused.value.code == "wrap_up_not_extendable"
