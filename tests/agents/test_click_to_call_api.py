"""GET /superfone/api/customer/click-2-call: every answer Superfone documents and our 4xx
(docs/providers.md, "Superfone click-to-call")."""

import pytest

from agents.models import ClickToCallNotification
from calls.models import Call, CarrierAccount
from tests.agents.conftest import AGENT_NUMBER, OTHER_AGENT_NUMBER

URL = "/superfone/api/customer/click-2-call"
CUSTOMER = "+918000000101"

pytestmark = pytest.mark.django_db


def click(tenant, **params):
    query = {"customer_number": CUSTOMER, "user_number": AGENT_NUMBER, "call_action": "START", **params}
    return tenant.api.get(URL, {k: v for k, v in query.items() if v is not None})


def test_it_starts_a_bridged_call_and_answers_with_the_notification(tenant, agent):
    response = click(tenant)

    assert response.status_code == 200, response.content
    body = response.json()
    notification = ClickToCallNotification.objects.get()
    assert body == {"data": {"notificationID": notification.pk, "sentSuccess": False}, "message": "success"}
    call = Call.objects.get()
    assert (call.kind, call.agent, call.status) == ("click_to_call", agent, "queued")
    assert (call.from_number, call.to_number, call.app) == (tenant.from_number, CUSTOMER, tenant.app)
    assert call.answer_url == ""
    assert (notification.action, notification.call, notification.agent) == ("START", call, agent)


def test_it_starts_when_call_action_is_left_out(tenant, agent):
    response = click(tenant, call_action=None)

    assert response.status_code == 200
    assert Call.objects.filter(agent=agent, to_number=CUSTOMER).exists()


def test_it_calls_from_the_carrier_accounts_caller_id_when_set(tenant, agent):
    CarrierAccount.objects.create(organization=tenant.organization, name="sandbox", caller_id="+918000009999")

    assert click(tenant).status_code == 200
    call = Call.objects.get()
    assert call.from_number == "+918000009999"
    assert call.app is None  # that number is not linked to an app: no customer webhooks


def test_it_refuses_when_the_organization_has_no_number_to_call_from(tenant, agent):
    tenant.app.status = "INACTIVE"
    tenant.app.save()

    response = click(tenant)

    assert response.status_code == 422
    assert "no number to call from" in response.json()["message"]
    assert not Call.objects.exists()


@pytest.mark.parametrize("missing", ["customer_number", "user_number"])
def test_it_answers_invalid_request_when_a_number_is_missing(tenant, agent, missing):
    response = click(tenant, **{missing: None})

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request"
    assert missing in response.json()["errors"]


@pytest.mark.parametrize(
    "number", ["918000000101", "08000000101", "+91 80000 00101", "+91-8000000101", "+12", "call me"]
)
def test_it_answers_invalid_request_for_numbers_not_in_e164(tenant, agent, number):
    response = click(tenant, customer_number=number)

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request"
    assert not Call.objects.exists()


def test_it_answers_invalid_request_for_a_bad_user_number(tenant, agent):
    response = click(tenant, user_number="9800000001")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["user_number"]


def test_it_answers_invalid_request_for_an_unknown_call_action(tenant, agent):
    response = click(tenant, call_action="PAUSE")

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request"
    assert "call_action" in response.json()["errors"]


@pytest.mark.parametrize("key", [None, "", "nonsense", "abc.def"])
def test_it_answers_unauthorized_without_a_valid_key(tenant, agent, key):
    tenant.api.credentials(**({} if key is None else {"HTTP_X_API_KEY": key}))

    response = click(tenant, customer_number=None)  # auth is checked before the parameters

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_it_answers_user_not_found_for_a_number_without_an_agent(tenant, agent):
    response = click(tenant, user_number="+919811111111")

    assert response.status_code == 404
    assert response.json() == {"message": "User not found"}


def test_it_answers_user_not_found_for_another_organizations_agent(tenant, agent, other_agent):
    response = click(tenant, user_number=OTHER_AGENT_NUMBER)

    assert response.status_code == 404
    assert response.json() == {"message": "User not found"}
    assert not Call.objects.exists()


def test_it_answers_user_not_found_for_an_inactive_agent(tenant, agent):
    agent.is_active = False
    agent.save()

    assert click(tenant).status_code == 404


def test_it_refuses_an_agent_with_click_to_call_disabled(tenant, agent):
    agent.click_to_call_enabled = False
    agent.save()

    response = click(tenant)

    assert response.status_code == 403
    assert response.json() == {"message": "Click-to-call is disabled for this agent"}
    assert not Call.objects.exists() and not ClickToCallNotification.objects.exists()


def test_it_refuses_a_second_start_while_the_agent_is_on_a_call(tenant, agent):
    assert click(tenant).status_code == 200

    response = click(tenant, customer_number="+918000000202")

    assert response.status_code == 409
    assert response.json() == {"message": "Agent is already on a call; end it before starting another"}
    assert Call.objects.count() == 1
    assert ClickToCallNotification.objects.count() == 1


def test_it_ends_the_agents_call_with_that_customer(tenant, agent):
    click(tenant)

    response = click(tenant, call_action="END")

    assert response.status_code == 200
    notification = ClickToCallNotification.objects.get(action="END")
    assert response.json()["data"]["notificationID"] == notification.pk
    call = Call.objects.get()
    assert call.status == "canceled"  # ended before the customer answered
    assert notification.call == call
    assert click(tenant, customer_number="+918000000202").status_code == 200  # free for the next call


def test_it_refuses_end_without_an_active_call_with_that_customer(tenant, agent):
    click(tenant)

    response = click(tenant, call_action="END", customer_number="+918000000202")

    assert response.status_code == 409
    assert response.json() == {"message": "No active call with +918000000202 for this agent"}
    assert Call.objects.get().status == "queued"


def test_it_accepts_lower_case_call_actions(tenant, agent):
    assert click(tenant, call_action="start").status_code == 200
    assert click(tenant, call_action="end").status_code == 200


def test_it_limits_how_fast_one_organization_starts_calls(tenant, agent, settings):
    settings.CALL_CREATE_RATE = "1/m"
    assert click(tenant).status_code == 200
    limited = click(tenant, customer_number="+918000000102")
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too many requests, retry later"}
    assert int(limited["Retry-After"]) >= 1
    # Ending a call is never held back by the limit.
    assert click(tenant, call_action="END").status_code == 200
