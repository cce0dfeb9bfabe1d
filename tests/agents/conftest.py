"""Agents and supervisors on top of the shared tenant fixtures."""

import pytest
from django.test import Client

from agents import services as agent_services

AGENT_NUMBER = "+919800000001"
OTHER_AGENT_NUMBER = "+919800000002"
PASSWORD = "correct-horse-battery"


@pytest.fixture
def agent(tenant):
    return agent_services.agent_create(
        organization=tenant.organization, username="asha", password=PASSWORD, number=AGENT_NUMBER
    )


@pytest.fixture
def other_agent(other_tenant):
    return agent_services.agent_create(
        organization=other_tenant.organization, username="bela", password=PASSWORD, number=OTHER_AGENT_NUMBER
    )


@pytest.fixture
def supervisor(tenant):
    return agent_services.supervisor_create(organization=tenant.organization, username="sam", password=PASSWORD)


def login(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(agent):
    return login(agent.user)


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real headless Chromium against a served copy of the app")
