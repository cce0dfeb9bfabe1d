"""Supervisors in the admin: contact import with a per-row report, missed callbacks reassigned."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from agents import desk, services
from agents.models import Callback, Contact


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_bad_csv_shows_its_row_errors_and_imports_nothing(supervisor, tenant):
    client = _client(supervisor)
    upload = SimpleUploadedFile("contacts.csv", b"name,numbers\nGood,+919876543210\nBad,12\n", "text/csv")
    response = client.post("/admin/agents/contact/import/", {"import_file": upload, "format": "0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Some rows failed to validate" in page
    assert "&#x27;12&#x27; is not a possible phone number." in page
    assert "Confirm import" not in page
    assert not Contact.objects.filter(organization=tenant.organization).exists()


def test_export_page_is_offered(supervisor):
    assert _client(supervisor).get("/admin/agents/contact/export/").status_code == 200


def test_a_missed_callback_is_shown_and_reassigned(supervisor, tenant, agent):
    other = services.agent_create(organization=tenant.organization, username="chen", password="x-long-pass-1",
                                  number="+919800000003")
    callback = desk.callback_schedule(organization_id=agent.organization_id, agent=agent, number="+918000000111",
                                      due_at=timezone.now() + timedelta(minutes=5), note="Quote")
    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert desk.callbacks_mark_missed() == 1

    client = _client(supervisor)
    listed = client.get("/admin/agents/callback/?status__exact=missed").content.decode()
    assert "+918000000111" in listed
    response = client.post("/admin/agents/callback/", {
        "action": "reassign", "_selected_action": [callback.pk], "agent": other.pk})
    assert response.status_code == 302
    callback.refresh_from_db()
    assert (callback.agent_id, callback.status) == (other.pk, "pending")
    assert callback.due_at > timezone.now()


def _change_form(callback, **fields):
    due = timezone.localtime(fields.pop("due_at", callback.due_at))
    return {"agent": callback.agent_id or "", "due_at_0": due.strftime("%Y-%m-%d"),
            "due_at_1": due.strftime("%H:%M:%S"), "note": callback.note, "status": callback.status, **fields}


def test_a_supervisor_moves_a_callback_and_it_is_reminded_at_the_new_time(supervisor, agent, run_tasks):
    callback = desk.callback_schedule(organization_id=agent.organization_id, agent=agent, number="+918000000111",
                                      due_at=timezone.now() + timedelta(days=1), note="Quote")
    client = _client(supervisor)
    url = f"/admin/agents/callback/{callback.pk}/change/"

    refused = client.post(url, _change_form(callback, due_at=timezone.now() - timedelta(hours=1)))
    assert refused.status_code == 200
    assert "A callback must be due in the future" in refused.content.decode()

    moved = client.post(url, _change_form(callback, due_at=timezone.now() + timedelta(seconds=1), agent="",
                                          note="Quote, any agent"))
    assert moved.status_code == 302
    callback.refresh_from_db()
    assert (callback.agent_id, callback.note) == (None, "Quote, any agent")
    run_tasks(wait=3)  # the reminder follows the new time, not the one a day off
    callback.refresh_from_db()
    assert callback.reminded_at is not None
    assert client.get("/admin/agents/callback/add/").status_code == 403


def test_a_supervisor_adds_and_edits_a_contact_with_its_numbers(supervisor, tenant):
    client = _client(supervisor)
    desk.contact_save(organization=tenant.organization, name="Ravi Iyer", numbers=["+918000000222"])
    form = {"name": "Priya Shah", "company": "Kite Travel", "email": "", "notes": "", "external_id": "C-9",
            "tags": "[]", "phone_numbers": "+91 80000 00111\n+918000000112"}

    bad = client.post("/admin/agents/contact/add/", {**form, "phone_numbers": "+918000000111, 12"})
    assert bad.status_code == 200 and "is not a possible phone number" in bad.content.decode()
    taken = client.post("/admin/agents/contact/add/", {**form, "phone_numbers": "+918000000222"})
    assert taken.status_code == 200 and "+918000000222 already belongs to Ravi Iyer" in taken.content.decode()
    assert not Contact.objects.filter(name="Priya Shah").exists()

    added = client.post("/admin/agents/contact/add/", form)
    assert added.status_code == 302
    contact = Contact.objects.get(name="Priya Shah")
    assert (contact.organization_id, contact.external_id) == (tenant.organization.pk, "C-9")
    assert sorted(contact.numbers.values_list("number", flat=True)) == ["+918000000111", "+918000000112"]

    page = client.get(f"/admin/agents/contact/{contact.pk}/change/").content.decode()
    assert "+918000000111\n+918000000112" in page
    client.post(f"/admin/agents/contact/{contact.pk}/change/", {**form, "phone_numbers": "+918000000112"})
    assert list(contact.numbers.values_list("number", flat=True)) == ["+918000000112"]
