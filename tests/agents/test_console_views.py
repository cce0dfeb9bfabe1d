"""The console and wallboard pages and their JSON endpoints (session login, CSRF)."""

import json

import pytest

from agents import services
from calls.models import Call
from tests.agents.conftest import PASSWORD, login

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    client.get("/console/")  # sets the CSRF cookie, as the page does for the browser
    token = client.cookies["csrftoken"].value
    return client.post(url, json.dumps(body or {}), content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_it_sends_visitors_to_the_login_page(client):
    response = client.get("/console/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/console/")


def test_it_logs_an_agent_in_and_shows_the_console(client, agent):
    response = client.post("/accounts/login/", {"username": "asha", "password": PASSWORD, "next": "/console/"})
    assert response.url == "/console/"

    page = client.get("/console/").content.decode()

    assert 'id="start"' in page and 'id="end"' in page and "console.js" in page


def test_it_sends_supervisors_without_an_agent_to_the_wallboard(tenant, supervisor):
    response = login(supervisor).get("/console/")

    assert (response.status_code, response.url) == (302, "/wallboard/")
    assert login(supervisor).get("/console/state").json() == {"message": "This login may not use this page"}


def test_it_refuses_the_console_to_logins_outside_any_organization(django_user_model):
    user = django_user_model.objects.create_user("visitor", password="x")

    assert login(user).get("/console/").status_code == 403


def test_it_answers_json_401_to_anonymous_state_requests(client):
    response = client.get("/console/state")

    assert response.status_code == 401
    assert response.json() == {"message": "Log in first"}


def test_it_starts_and_ends_a_call_from_the_console(agent_client, agent):
    started = post(agent_client, "/console/start", {"customer_number": "080000 00108"})

    assert started.status_code == 200
    call = Call.objects.get()
    assert started.json()["call"]["request_uuid"] == call.request_uuid
    assert (call.to_number, call.agent, call.kind) == ("+918000000108", agent, "click_to_call")
    state = agent_client.get("/console/state").json()
    assert state["current"]["request_uuid"] == call.request_uuid
    assert [c["request_uuid"] for c in state["recent"]] == [call.request_uuid]

    ended = post(agent_client, "/console/end")

    assert ended.status_code == 200 and ended.json()["call"]["status"] == "canceled"
    assert agent_client.get("/console/state").json()["current"] is None


def test_it_refuses_posts_without_the_csrf_token(agent_client):
    response = agent_client.post("/console/start", json.dumps({"customer_number": "+918000000108"}),
                                 content_type="application/json")

    assert response.status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize("number", ["", "12", "call me"])
def test_it_says_what_is_wrong_with_an_invalid_number(agent_client, number):
    response = post(agent_client, "/console/start", {"customer_number": number})

    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid number")


def test_it_refuses_a_start_while_the_agent_is_on_a_call(agent_client):
    post(agent_client, "/console/start", {"customer_number": "+918000000108"})

    response = post(agent_client, "/console/start", {"customer_number": "+918000000101"})

    assert response.status_code == 409
    assert response.json() == {"message": "Agent is already on a call; end it before starting another"}


def test_it_refuses_a_start_when_click_to_call_is_disabled(agent_client, agent):
    agent.click_to_call_enabled = False
    agent.save()

    response = post(agent_client, "/console/start", {"customer_number": "+918000000101"})

    assert response.status_code == 403
    assert response.json() == {"message": "Click-to-call is disabled for this agent"}


def test_it_refuses_end_when_there_is_no_call(agent_client):
    response = post(agent_client, "/console/end")

    assert response.status_code == 409
    assert response.json() == {"message": "No active call"}


def test_it_shows_the_wallboard_to_staff_of_the_organization_only(agent_client, supervisor):
    assert agent_client.get("/wallboard/").status_code == 403
    assert agent_client.get("/wallboard/state").status_code == 403
    assert login(supervisor).get("/wallboard/").status_code == 200


def test_it_lists_agents_states_and_live_calls_of_the_organization_only(tenant, agent, supervisor, other_agent):
    colleague = services.agent_create(organization=tenant.organization, username="chen", password="x",
                                      number="+919800000003")
    call = services.agent_click_to_call(agent=agent, customer_number="+918000000108")
    services.agent_click_to_call(agent=other_agent, customer_number="+918000000108")

    state = login(supervisor).get("/wallboard/state").json()

    assert {a["username"]: a["state"] for a in state["agents"]} == {"asha": "on_call", "chen": "available"}
    assert [c["request_uuid"] for c in state["calls"]] == [call.request_uuid]
    assert colleague.pk in {a["id"] for a in state["agents"]}
