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
