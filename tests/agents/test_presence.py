"""Whether an agent has a console open, as every process sees it (the ConsoleConnection rows)."""

import pytest
from django.utils import timezone

from agents import selectors, services
from agents.models import ConsoleConnection

pytestmark = pytest.mark.django_db


def test_it_counts_a_tab_that_keeps_sending_heartbeats(agent):
    services.console_connection_open(agent=agent, channel_name="specific.a!1")
    ConsoleConnection.objects.update(seen_at=timezone.now() - selectors.PRESENCE_WINDOW / 2)

    services.console_connection_seen(channel_name="specific.a!1")

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
