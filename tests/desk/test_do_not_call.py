"""The do-not-call list: a "Do not call" outcome puts the number on it, and no door calls it again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from auditlog.models import LogEntry
from django.test import Client

from agents import desk, services
from agents.models import Disposition
from agents.selectors import agent_state
from calls import lifecycle
from calls import services as call_services
from calls.models import Call, CallStatus, DoNotCallNumber
from tenants.errors import ServiceError

pytestmark = pytest.mark.django_db

NUMBER = "+918000000111"


def sfvopi_call(tenant, to=NUMBER):
    body = {"from": tenant.from_number, "to": to, "answer_url": "https://customer.example.com/answer"}
    return tenant.api.post("/superfone/sfvopi/calls", body, format="json")


def finished_call(agent, number=NUMBER):
    call = services.agent_click_to_call(agent=agent, customer_number=number)
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")
    return call


@pytest.fixture
def do_not_call(tenant):
    return Disposition.objects.create(organization=tenant.organization, code="do_not_call", label="Do not call",
                                      adds_to_do_not_call=True)


def test_a_do_not_call_outcome_stops_every_later_call_to_the_number(tenant, agent, do_not_call):
    call = finished_call(agent)

    desk.call_disposition_set(agent=agent, call_uuid=call.request_uuid, disposition_id=do_not_call.pk)

    entry = DoNotCallNumber.objects.get(organization=tenant.organization, number=NUMBER)
    assert (entry.source, entry.call_id, entry.reason) == ("disposition", call.pk, "Do not call")
    calls_before = Call.objects.count()

    response = sfvopi_call(tenant)
    assert response.status_code == 400
    assert response.json()["message"] == f"{NUMBER} is on the organization's do-not-call list"

    with pytest.raises(ServiceError) as refused:
        services.agent_click_to_call(agent=agent, customer_number=NUMBER)
    assert (refused.value.status, refused.value.code) == (400, "number_do_not_call")

    # Nor is a call back promised to it.
    with pytest.raises(ServiceError) as refused:
        desk.callback_schedule(organization_id=agent.organization_id, agent=agent, number=NUMBER, due_at=timezone.now() + timedelta(days=1))
    assert refused.value.code == "number_do_not_call"

    assert Call.objects.count() == calls_before
    assert agent_state(agent=agent) == "available"
    assert sfvopi_call(tenant, to="+918000000112").status_code == 200  # other numbers still go


def test_other_outcomes_and_other_organizations_are_not_affected(tenant, other_tenant, agent, outcomes):
    call = finished_call(agent)
    desk.call_disposition_set(agent=agent, call_uuid=call.request_uuid, disposition_id=outcomes["sale"].pk)
    assert not DoNotCallNumber.objects.exists()

    call_services.do_not_call_add(organization_id=other_tenant.organization.pk, number=NUMBER)

    assert sfvopi_call(tenant).status_code == 200
    assert sfvopi_call(other_tenant).status_code == 400


def test_adding_a_number_twice_keeps_the_first_entry_and_bad_numbers_are_refused(tenant):
    first = call_services.do_not_call_add(organization_id=tenant.organization.pk, number=NUMBER, reason="Asked")
    again = call_services.do_not_call_add(organization_id=tenant.organization.pk, number=NUMBER, reason="Later")
    assert (again.pk, again.reason) == (first.pk, "Asked")

    with pytest.raises(ServiceError) as refused:
        call_services.do_not_call_add(organization_id=tenant.organization.pk, number="12345")
    assert (refused.value.status, refused.value.code) == (400, "invalid_number")


def test_a_supervisor_keeps_the_list_in_admin_for_their_organization_only(tenant, other_tenant, supervisor):
    theirs = call_services.do_not_call_add(organization_id=other_tenant.organization.pk, number="+918000000999")
    client = Client()
    client.force_login(supervisor)

    added = client.post("/admin/calls/donotcallnumber/add/", {"number": NUMBER, "reason": "Asked on the phone"})
    assert added.status_code == 302
    mine = DoNotCallNumber.objects.get(organization=tenant.organization)
    assert (mine.number, mine.source, mine.reason) == (NUMBER, "admin", "Asked on the phone")
    assert sfvopi_call(tenant).status_code == 400

    listed = client.get("/admin/calls/donotcallnumber/").content.decode()
    assert NUMBER in listed and theirs.number not in listed
    client.post(f"/admin/calls/donotcallnumber/{theirs.pk}/delete/", {"post": "yes"})  # not theirs to remove

    bad = client.post("/admin/calls/donotcallnumber/add/", {"number": "not a number", "reason": ""})
    assert bad.status_code == 200 and "is not a phone number" in bad.content.decode()

    removed = client.post(f"/admin/calls/donotcallnumber/{mine.pk}/delete/", {"post": "yes"})
    assert removed.status_code == 302
    assert sfvopi_call(tenant).status_code == 200
    assert DoNotCallNumber.objects.filter(pk=theirs.pk).exists()


def test_a_crm_keeps_the_list_through_the_api(tenant, other_tenant):
    added = tenant.api.post("/api/v1/do-not-call", {"number": "+91 80000 00111", "reason": "Asked by email"},
                            format="json")
    assert added.status_code == 201
    assert {k: added.json()[k] for k in ("number", "reason", "source", "call_uuid")} == {
        "number": NUMBER, "reason": "Asked by email", "source": "api", "call_uuid": None}
    assert sfvopi_call(tenant).status_code == 400
    other_tenant.api.post("/api/v1/do-not-call", {"number": "+918000000999"}, format="json")

    listed = tenant.api.get("/api/v1/do-not-call").json()["results"]
    assert [row["number"] for row in listed] == [NUMBER]

    bad = tenant.api.post("/api/v1/do-not-call", {"number": "12"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert tenant.api.delete("/api/v1/do-not-call/+918000000999").status_code == 404  # another organization's
    assert tenant.api.delete("/api/v1/do-not-call/+91 80000 00111").status_code == 204  # as it was added
    assert tenant.api.delete(f"/api/v1/do-not-call/{NUMBER}").status_code == 404
    assert sfvopi_call(tenant).status_code == 200
    # Who listed the number and who took it off stays in the audit trail.
    trail = LogEntry.objects.get_for_model(DoNotCallNumber).filter(object_repr=NUMBER)
    assert sorted(trail.values_list("action", flat=True)) == [LogEntry.Action.CREATE, LogEntry.Action.DELETE]


def test_the_outcomes_say_which_put_a_number_on_the_list(tenant, do_not_call, outcomes):
    listed = {row["code"]: row["adds_to_do_not_call"] for row in tenant.api.get("/api/v1/dispositions").json()}
    assert listed == {"do_not_call": True, "sale": False, "not_interested": False}


def test_a_supervisor_imports_a_file_of_numbers_and_a_bad_row_imports_nothing(tenant, other_tenant, supervisor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from calls.do_not_call_import import DoNotCallResource

    call_services.do_not_call_add(organization_id=tenant.organization.pk, number=NUMBER, reason="First entry")
    client = Client()
    client.force_login(supervisor)
    url = "/admin/calls/donotcallnumber/import/"

    def upload(text):
        return client.post(url, {"import_file": SimpleUploadedFile("dnc.csv", text.encode(), "text/csv"),
                                 "format": "0"})

    bad = upload("number,reason\n+91 80000 00222,Complaint\n12,\n")
    assert "Some rows failed to validate" in bad.content.decode()
    assert not DoNotCallNumber.objects.filter(number="+918000000222").exists()

    preview = upload(f"number,reason\n+91 80000 00222,Complaint\n{NUMBER},Again\n")
    assert preview.status_code == 200 and "Confirm import" in preview.content.decode()
    confirmed = client.post("/admin/calls/donotcallnumber/process_import/", preview.context["confirm_form"].initial)
    assert confirmed.status_code == 302
    listed = dict(DoNotCallNumber.objects.filter(organization=tenant.organization).values_list("number", "reason"))
    assert listed == {"+918000000222": "Complaint", NUMBER: "First entry"}  # a listed number keeps its entry
    assert sfvopi_call(tenant, to="+918000000222").json()["message"] == (
        "+918000000222 is on the organization's do-not-call list")
    assert client.get("/admin/calls/donotcallnumber/export/").status_code == 200
    exported = DoNotCallResource(organization=tenant.organization).export().csv
    assert exported.splitlines() == ["number,reason", "+918000000111,First entry", "+918000000222,Complaint"]
    assert DoNotCallResource(organization=other_tenant.organization).export().csv.splitlines() == ["number,reason"]
