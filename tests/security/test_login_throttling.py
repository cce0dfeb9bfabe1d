"""Repeated failed logins lock out that username from that address, on the agents' and the admin's login."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGINS = {"/accounts/login/": "/console/", "/admin/login/": "/admin/"}


def _try(path, username, password, address="10.1.1.1"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password, "next": LOGINS[path]})


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


@pytest.mark.parametrize("path", list(LOGINS))
def test_repeated_failures_lock_out_even_the_right_password(path, supervisor):
    for _ in range(2):
        assert _try(path, "sam", "wrong-password").status_code == 200  # the form again, with its error
    _try(path, "sam", "wrong-password")  # the third failure reaches the limit

    locked = _try(path, "sam", PASSWORD)

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


def test_the_lockout_is_per_username_and_address(supervisor, agent):
    for _ in range(3):
        _try("/accounts/login/", "sam", "wrong-password")

    assert _try("/accounts/login/", "sam", PASSWORD, address="10.2.2.2").status_code == 302
    assert _try("/accounts/login/", "asha", PASSWORD).status_code == 302
    assert _try("/accounts/login/", "sam", PASSWORD).status_code == 429


def test_an_administrator_unlocks_from_the_admin(supervisor):
    for _ in range(3):
        _try("/accounts/login/", "sam", "wrong-password")
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 12)
    admin = Client()
    admin.force_login(root)
    attempt = AccessAttempt.objects.get(username="sam")

    listed = admin.get("/admin/axes/accessattempt/")
    admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})

    assert listed.status_code == 200 and "sam" in listed.content.decode()
    assert _try("/accounts/login/", "sam", PASSWORD).status_code == 302
