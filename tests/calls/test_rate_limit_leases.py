"""CALL_CREATE_RATE counted in batches per process: never more calls than the limit, far
fewer trips to the shared counter, and none once a window is spent."""

import os
import uuid
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

from calls.api import throttling

ORG = 4242


@pytest.fixture
def frozen_window():
    # All requests of a test fall in one window, whatever the clock does meanwhile.
    with mock.patch.object(throttling.time, "time", return_value=1_000_000.5):
        yield


def allowed_of(count, organization_id=ORG):
    return sum(throttling.call_create_allowed(organization_id)[0] for _ in range(count))


def test_one_process_gets_exactly_the_limit_with_a_fraction_of_the_round_trips(settings, frozen_window):
    settings.CALL_CREATE_RATE = "1000/m"
    with mock.patch.object(throttling.cache, "incr", wraps=cache.incr) as incr:
        allowed = allowed_of(1500)

    assert allowed == 1000
    # Batches grow 1, 2, 4 ... up to 50 (1000 / LEASE_SHARE): about 25 trips, not 1000.
    assert incr.call_count < 40, incr.call_count


def test_a_spent_window_refuses_without_asking_the_counter(settings, frozen_window):
    settings.CALL_CREATE_RATE = "10/m"
    assert allowed_of(10) == 10
    assert allowed_of(1) == 0
    with mock.patch.object(throttling.cache, "incr", wraps=cache.incr) as incr:
        assert allowed_of(50) == 0
    assert incr.call_count == 0


def test_small_limits_are_counted_one_request_at_a_time(settings, frozen_window):
    settings.CALL_CREATE_RATE = "5/s"
    with mock.patch.object(throttling.cache, "incr", wraps=cache.incr) as incr:
        assert allowed_of(5) == 5
    assert cache.get(f"throttle:call_create:{ORG}:{1_000_000}") == 5
    assert incr.call_count >= 4  # the first request creates the counter, every other one adds to it


def test_processes_sharing_the_counter_never_exceed_the_limit_together(settings, frozen_window):
    settings.CALL_CREATE_RATE = "600/m"
    processes = [{}, {}, {}]  # each process's own leases, over the one shared counter
    allowed = 0
    for turn in range(1200):
        with mock.patch.object(throttling, "_leases", processes[turn % 3]):
            allowed += throttling.call_create_allowed(ORG)[0]

    assert allowed <= 600
    # What the others took and left unused is lost: at most one batch (600 / 20) each.
    assert allowed >= 600 - 3 * 30, allowed


def test_organizations_are_counted_apart(settings, frozen_window):
    settings.CALL_CREATE_RATE = "3/m"
    assert allowed_of(5, organization_id=1) == 3
    assert allowed_of(5, organization_id=2) == 3


def test_on_redis_one_round_trip_takes_a_batch_and_sets_the_window_to_expire(settings, frozen_window):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                   "KEY_PREFIX": f"leases-{uuid.uuid4().hex[:8]}"}}
    settings.CALL_CREATE_RATE = "1000/m"
    key = caches["default"].make_and_validate_key(f"throttle:call_create:{ORG}:{1_000_000 // 60}")
    client = caches["default"]._cache.get_client(key)
    try:
        with mock.patch.object(RedisCache, "incr", side_effect=AssertionError("two round trips")):
            assert allowed_of(1200) == 1000
        assert int(client.get(key)) >= 1000
        assert 0 < client.ttl(key) <= 61
    finally:
        client.delete(key)  # only ours: the database may be shared
