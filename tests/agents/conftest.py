"""Agents and supervisors on top of the shared tenant fixtures."""

import os

import pytest
import redis
from django.test import Client

from agents import services as agent_services
from callcenter.channel_layers import redis_channel_layers
from tests.conftest import needs

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


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def redis_layer(settings):
    """The Redis channel layer as production configures it, at TEST_REDIS_URL.

    Skips loudly without Redis (bin/test fails the run under CI=true when Redis is missing).
    The layer's keys are cleared before and after, so groups left by an earlier test never count.
    """
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        reachable = bool(client.ping())
    except redis.RedisError:
        reachable = False
    needs(reachable, f"Redis at {REDIS_URL} (the Redis push tests)")
    settings.CHANNEL_LAYERS = redis_channel_layers(REDIS_URL)
    clear_layer_keys(client)
    yield client
    clear_layer_keys(client)
    client.close()


def clear_layer_keys(client):
    for key in client.scan_iter(match="asgi*", count=1000):
        client.delete(key)


def login(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(agent):
    return login(agent.user)
