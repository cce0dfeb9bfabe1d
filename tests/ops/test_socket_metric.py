"""The open-sockets gauge follows sockets as they open and close."""

import pytest
from prometheus_client import REGISTRY

from tests.agents.conftest import agent, supervisor  # noqa: F401  (fixtures)
from tests.agents.test_consumers import socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def open_sockets(page):
    return REGISTRY.get_sample_value("callcenter_websockets_open", {"page": page}) or 0.0


async def test_open_sockets_count_up_and_down_per_page(agent, supervisor):
    consoles, wallboards = open_sockets("console"), open_sockets("wallboard")

    console = await socket("/ws/console/", agent.user)
    assert (await console.connect())[0]
    wallboard = await socket("/ws/wallboard/", supervisor)
    assert (await wallboard.connect())[0]
    assert open_sockets("console") == consoles + 1
    assert open_sockets("wallboard") == wallboards + 1

    await console.disconnect()
    await wallboard.disconnect()
    assert open_sockets("console") == consoles
    assert open_sockets("wallboard") == wallboards


async def test_a_refused_socket_is_not_counted(tenant):
    before = open_sockets("console")
    refused = await socket("/ws/console/")

    assert (await refused.connect()) == (False, 4401)
    assert open_sockets("console") == before
