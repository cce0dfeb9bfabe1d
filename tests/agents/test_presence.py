"""Whether an agent has a console open, as every process sees it (the ConsoleConnection rows)."""

import time

import pytest
from django.utils import timezone

from agents import selectors, services
from agents.models import ConsoleConnection
from callcenter import worker
from calls import lifecycle
from calls.models import CallStatus

pytestmark = pytest.mark.django_db


def test_it_counts_a_tab_that_keeps_sending_heartbeats(agent):
    services.console_connection_open(agent=agent, channel_name="specific.a!1")
    ConsoleConnection.objects.update(seen_at=timezone.now() - selectors.PRESENCE_WINDOW / 2)

    services.console_connection_seen(agent=agent, channel_name="specific.a!1")

    assert selectors.agent_is_listening(agent=agent)


def test_it_stops_counting_a_tab_whose_process_went_silent(agent):
    services.console_connection_open(agent=agent, channel_name="specific.a!1")
    ConsoleConnection.objects.update(seen_at=timezone.now() - selectors.PRESENCE_WINDOW * 2)

    assert not selectors.agent_is_listening(agent=agent)


def test_it_clears_silent_rows_when_the_agent_opens_a_new_tab(agent):
    services.console_connection_open(agent=agent, channel_name="specific.dead!1")
    ConsoleConnection.objects.update(seen_at=timezone.now() - selectors.PRESENCE_WINDOW * 2)

    services.console_connection_open(agent=agent, channel_name="specific.live!2")

    assert list(ConsoleConnection.objects.values_list("channel_name", flat=True)) == ["specific.live!2"]
    assert selectors.agent_is_listening(agent=agent)


def test_it_forgets_a_tab_once_it_closes(agent):
    services.console_connection_open(agent=agent, channel_name="specific.a!1")

    services.console_connection_close(channel_name="specific.a!1")

    assert not selectors.agent_is_listening(agent=agent)


def _went_silent(channel_name):
    ConsoleConnection.objects.filter(channel_name=channel_name).update(
        seen_at=timezone.now() - selectors.PRESENCE_WINDOW * 2
    )


def test_the_sweep_takes_offline_an_agent_whose_consoles_process_died(agent, other_agent):
    services.console_connection_open(agent=agent, channel_name="specific.dead!1")
    services.console_connection_open(agent=other_agent, channel_name="specific.live!2")
    _went_silent("specific.dead!1")  # its web process died: no close was ever seen

    assert services.silent_consoles_sign_out() == 1

    assert selectors.agent_state(agent=agent) == "offline"
    assert selectors.agent_state(agent=other_agent) == "available"
    assert list(ConsoleConnection.objects.values_list("channel_name", flat=True)) == ["specific.live!2"]
    assert services.silent_consoles_sign_out() == 0


def test_the_sweep_leaves_alone_an_agent_with_one_tab_still_alive(agent):
    services.console_connection_open(agent=agent, channel_name="specific.dead!1")
    services.console_connection_open(agent=agent, channel_name="specific.live!2")
    _went_silent("specific.dead!1")

    assert services.silent_consoles_sign_out() == 0
    assert selectors.agent_state(agent=agent) == "available"


def test_the_sweep_leaves_alone_an_agent_who_works_without_a_console(agent):
    # Made Available through /api/v1 by a CRM, never with a console open: nothing went silent.
    assert services.silent_consoles_sign_out() == 0
    assert selectors.agent_state(agent=agent) == "available"


def test_an_agent_on_a_call_is_signed_out_once_the_call_ends(agent):
    services.console_connection_open(agent=agent, channel_name="specific.dead!1")
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000111")
    _went_silent("specific.dead!1")
    assert services.silent_consoles_sign_out() == 0
    assert selectors.agent_state(agent=agent) == "on_call"

    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")

    assert services.silent_consoles_sign_out() == 1
    assert selectors.agent_state(agent=agent) == "offline"


def test_a_tab_dropped_as_silent_counts_again_at_its_next_heartbeat(agent):
    services.console_connection_open(agent=agent, channel_name="specific.slow!1")
    _went_silent("specific.slow!1")
    services.silent_consoles_sign_out()
    assert not selectors.agent_is_listening(agent=agent)

    services.console_connection_seen(agent=agent, channel_name="specific.slow!1")

    assert selectors.agent_is_listening(agent=agent)


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_signs_out_a_console_that_went_silent(agent, settings):
    settings.SWEEP_INTERVAL = 0.1
    services.console_connection_open(agent=agent, channel_name="specific.dead!1")
    _went_silent("specific.dead!1")

    running = worker.start(threads=1)
    try:
        deadline = time.monotonic() + 10
        while selectors.agent_state(agent=agent) != "offline" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.shutdown(grace=5)

    assert selectors.agent_state(agent=agent) == "offline"
