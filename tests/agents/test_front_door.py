"""The site's root sends each visitor where they belong; admin's "View site" leads there."""

import pytest
from django.contrib.auth.models import User

from tests.agents.conftest import login

pytestmark = pytest.mark.django_db


def test_it_sends_a_visitor_to_the_login(client):
    response = client.get("/")

    assert (response.status_code, response.url) == (302, "/accounts/login/")


def test_it_sends_an_agent_to_the_console(agent):
    response = login(agent.user).get("/")

    assert (response.status_code, response.url) == (302, "/console/")


def test_it_sends_a_supervisor_to_admin(supervisor):
    response = login(supervisor).get("/")

    assert (response.status_code, response.url) == (302, "/admin/")


def test_it_sends_a_login_with_no_role_to_the_login(tenant):
    stranger = User.objects.create_user("nobody", password="x")

    response = login(stranger).get("/")

    assert (response.status_code, response.url) == (302, "/accounts/login/")


def test_admins_view_site_link_reaches_the_front_door(supervisor):
    page = login(supervisor).get("/admin/").content.decode()

    assert '<a href="/">View site</a>' in page
    assert login(supervisor).get("/").url == "/admin/"
