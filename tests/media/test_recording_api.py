"""Serving recordings: /api/v1/recordings, the audio with ranges, tenants apart, the admin's player."""

import pytest
from django.test import Client

from calls import recordings
from calls.models import Recording
from tests.admin.conftest import supervisor, supervisor_client, superuser_client  # noqa: F401  (fixtures)
from tests.conftest import queued_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(tenant):
    call = queued_call(tenant, record=True, status="completed")
    call.refresh_from_db()
    return recordings.recording_store(call=call, data=recordings.sandbox_wav(1), format="wav", duration=1.0)


def test_list_and_detail(tenant, recording):
    page = tenant.api.get("/api/v1/recordings")
    assert page.status_code == 200
    [row] = page.json()["results"]
    assert row == {
        "id": recording.pk, "call": recording.call.request_uuid, "call_uuid": recording.call.call_uuid,
        "duration": 1.0, "format": "wav", "content_type": "audio/wav", "size": recording.size,
        "created_at": row["created_at"], "audio_url": f"/api/v1/recordings/{recording.pk}/audio",
    }
    assert tenant.api.get(f"/api/v1/recordings?call={recording.call.request_uuid}").json()["results"] == [row]
    assert tenant.api.get("/api/v1/recordings?call=sfv_ob_req_nothing").json()["results"] == []
    assert tenant.api.get(f"/api/v1/recordings/{recording.pk}").json() == row


def test_the_audio_streams_whole_and_in_ranges(tenant, recording):
    whole = tenant.api.get(f"/api/v1/recordings/{recording.pk}/audio", HTTP_ACCEPT="audio/*")
    assert whole.status_code == 200 and whole["Content-Type"] == "audio/wav"
    body = b"".join(whole.streaming_content)
    assert body == recordings.sandbox_wav(1) and whole["Content-Length"] == str(len(body))
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Disposition"].startswith("inline")

    part = tenant.api.get(f"/api/v1/recordings/{recording.pk}/audio", HTTP_RANGE="bytes=44-99")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 44-99/{len(body)}"
    assert b"".join(part.streaming_content) == body[44:100]
    tail = tenant.api.get(f"/api/v1/recordings/{recording.pk}/audio", HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == body[-10:]
    beyond = tenant.api.get(f"/api/v1/recordings/{recording.pk}/audio", HTTP_RANGE=f"bytes={len(body)}-")
    assert beyond.status_code == 416

    saved = tenant.api.get(f"/api/v1/recordings/{recording.pk}/audio?download=true")
    assert saved["Content-Disposition"] == f'attachment; filename="{recording.call.request_uuid}.wav"'


def test_another_organization_sees_nothing(other_tenant, recording):
    assert other_tenant.api.get("/api/v1/recordings").json()["results"] == []
    for path in (f"/api/v1/recordings/{recording.pk}", f"/api/v1/recordings/{recording.pk}/audio"):
        response = other_tenant.api.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "recording_not_found"


def test_an_empty_call_filter_is_refused(tenant, recording):
    response = tenant.api.get("/api/v1/recordings", {"call": ""})
    assert response.status_code == 400 and "call" in response.json()["error"]["details"]


def test_ids_that_cannot_exist_are_not_found(tenant, recording):
    for bad in ("0", "-1", "abc", str(2**70), "1.5"):
        response = tenant.api.get(f"/api/v1/recordings/{bad}/audio")
        assert response.status_code == 404 and response.json()["error"]["code"] == "recording_not_found"


def test_no_key_no_audio(recording):
    assert Client().get(f"/api/v1/recordings/{recording.pk}/audio").status_code in (401, 403)


def test_the_admin_call_page_plays_and_offers_the_download(supervisor_client, recording):  # noqa: F811
    page = supervisor_client.get(f"/admin/calls/call/{recording.call.pk}/change/")
    html = page.content.decode()
    assert f'<audio controls preload="metadata" src="/api/v1/recordings/{recording.pk}/audio"' in html
    assert f'href="/api/v1/recordings/{recording.pk}/audio?download=true"' in html
    audio = supervisor_client.get(f"/api/v1/recordings/{recording.pk}/audio")
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"


def test_a_superuser_plays_any_organizations_recording(superuser_client, recording):  # noqa: F811
    assert superuser_client.get(f"/api/v1/recordings/{recording.pk}/audio").status_code == 200


def test_recording_rows_are_read_only_in_the_admin(supervisor_client, recording):  # noqa: F811
    assert supervisor_client.get("/admin/calls/recording/add/").status_code == 403
    assert Recording.objects.count() == 1


def test_a_supervisor_sets_the_recording_policy_in_the_admin(tenant, supervisor_client):  # noqa: F811
    from calls.models import RecordingPolicy

    page = supervisor_client.get("/admin/calls/recordingpolicy/add/")
    assert page.status_code == 200
    form = {"record_agent_calls": "on", "disclosure": "on", "disclosure_text": "Calls are recorded."}
    if b'name="organization"' in page.content:
        form["organization"] = tenant.organization.pk
    saved = supervisor_client.post("/admin/calls/recordingpolicy/add/", form)
    assert saved.status_code == 302, saved.content[:2000]
    policy = RecordingPolicy.objects.get()
    assert (policy.organization, policy.record_agent_calls, policy.disclosure, policy.disclosure_text) == (
        tenant.organization, True, True, "Calls are recorded.")
