"""Recordings: the sandbox's WAV, carriers' files fetched by the worker, the webhook, deletion."""

import io
import wave
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from calls import recordings
from calls.models import Call, Recording, RecordingPolicy

pytestmark = pytest.mark.django_db(transaction=True)


def place(tenant, webhook_server, run_tasks, **body):
    response = tenant.api.post(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
         "hangup_url": webhook_server.url("/hangup"), **body},
        format="json",
    )
    assert response.status_code == 200, response.content
    call = Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])
    run_tasks(wait=1.5)
    call.refresh_from_db()
    return call


def test_a_recorded_sandbox_call_leaves_a_playable_wav_as_long_as_the_talk(tenant, webhook_server, run_tasks,
                                                                           settings):
    settings.SANDBOX_TALK_SECONDS = 1.0
    call = place(tenant, webhook_server, run_tasks, record=True)
    assert call.status == "completed" and call.record

    recording = Recording.objects.get(call=call)
    talk = (call.ended_at - call.answered_at).total_seconds()
    with recording.file.open("rb") as handle:
        data = handle.read()
    with wave.open(io.BytesIO(data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 8000)
        seconds = audio.getnframes() / audio.getframerate()
    assert abs(seconds - talk) < 0.01 and abs(recording.duration - talk) < 0.01
    assert seconds >= 1.0
    assert (recording.format, recording.size, recording.organization_id) == ("wav", len(data), tenant.organization.pk)
    assert max(data[44:]) > 0  # not all silence: the simulated callee talks


def test_recording_ready_is_signed_and_goes_to_the_hangup_url(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, run_tasks, record=True)
    run_tasks(wait=0.5)
    ready = [r for r in webhook_server.received if r.path == "/hangup" and r.body.get("event") == "recording_ready"]
    assert len(ready) == 1
    headers = {name.lower(): value for name, value in ready[0].headers.items()}
    body = Webhook(tenant.app.webhook_secret).verify(ready[0].raw, headers)
    recording = Recording.objects.get(call=call)
    assert body["recording_id"] == recording.pk and body["call_uuid"] == str(call.call_uuid)
    assert body["format"] == "wav" and body["size"] == recording.size
    assert body["recording_url"].endswith(f"/api/v1/recordings/{recording.pk}/audio")


def test_calls_are_not_recorded_unless_asked(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, run_tasks)
    run_tasks(wait=0.3)
    assert not call.record and not Recording.objects.exists()


@pytest.mark.parametrize("value", ["sometimes", "true", 1])
def test_record_must_be_a_json_boolean(tenant, webhook_server, value):
    response = tenant.api.post(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
         "record": value},
        format="json",
    )
    assert response.status_code == 400 and "record" in response.json()["errors"]
    assert not Call.objects.exists()


def test_an_unanswered_call_has_no_recording(tenant, webhook_server, run_tasks):
    call = place(tenant, webhook_server, run_tasks, record=True, to="+918000000005")  # busy
    assert call.status == "busy"
    run_tasks(wait=0.3)
    assert not Recording.objects.exists()


def test_the_policy_records_agent_calls(tenant):
    from calls import services

    recordings.policy_save(organization=tenant.organization, record_agent_calls=True)
    assert RecordingPolicy.objects.get(organization=tenant.organization).record_agent_calls
    call = services.call_create(organization=tenant.organization, to_number="+918000000001",
                                from_number=tenant.from_number, answer_url="https://crm.example.com/a")
    assert not call.record  # an SFVoPI call records only when it asks


def wav_bytes(seconds):
    return recordings.sandbox_wav(seconds)


def test_a_carriers_recording_is_fetched_checked_and_stored(tenant, webhook_server, run_tasks, settings):
    from tests.conftest import queued_call

    call = queued_call(tenant, record=True, status="completed", duration=3)
    Call.objects.filter(pk=call.pk).update(hangup_url=webhook_server.url("/hangup"))
    webhook_server.responses["/rec.wav"] = (200, wav_bytes(3), 0)
    recordings.recording_fetch.enqueue(call.pk, webhook_server.url("/rec.wav"), 3.0)
    run_tasks()
    recording = Recording.objects.get(call=call)
    assert recording.format == "wav" and abs(recording.duration - 3) < 0.01
    with recording.file.open("rb") as handle:
        assert handle.read() == wav_bytes(3)
    [ready] = [r for r in webhook_server.received if r.path == "/hangup"]
    assert ready.body["event"] == "recording_ready"
    # The carrier's URL is nowhere in what the customer gets.
    assert "/rec.wav" not in ready.raw.decode()


@pytest.mark.parametrize("why", ["too_large", "not_audio", "private_address", "http_error"])
def test_a_carriers_recording_that_breaks_the_rules_is_not_kept(tenant, webhook_server, run_tasks, settings, why):
    from tests.conftest import queued_call

    call = queued_call(tenant, record=True, status="completed")
    webhook_server.responses["/rec"] = (200, wav_bytes(2), 0)
    if why == "too_large":
        settings.RECORDING_MAX_BYTES = 1000
    elif why == "not_audio":
        webhook_server.responses["/rec"] = (200, b"<html>login</html>", 0)
    elif why == "private_address":
        settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    else:
        webhook_server.responses["/rec"] = (404, b"", 0)
    recordings.recording_fetch.enqueue(call.pk, webhook_server.url("/rec"), None)
    run_tasks()
    assert not Recording.objects.exists()
    if why == "private_address":
        assert webhook_server.received == []  # nothing was even asked


def test_recordings_delete_before_removes_rows_and_files(tenant, other_tenant, _recordings_in_a_temporary_folder):
    from tests.conftest import queued_call

    old, new, others = [], [], []
    for index in range(5):
        for owner, bucket in ((tenant, old), (other_tenant, others)):
            call = queued_call(owner, record=True, status="completed")
            bucket.append(recordings.recording_store(call=call, data=wav_bytes(0.1), format="wav", duration=0.1))
    Recording.objects.filter(pk__in=[r.pk for r in old + others]).update(
        created_at=timezone.now() - timedelta(days=40))
    call = queued_call(tenant, record=True, status="completed")
    new.append(recordings.recording_store(call=call, data=wav_bytes(0.1), format="wav", duration=0.1))
    files = {r.pk: _recordings_in_a_temporary_folder / r.file.name for r in old + new + others}
    assert all(path.exists() for path in files.values())

    deleted = recordings.recordings_delete_before(tenant.organization, timezone.now() - timedelta(days=30), 2)

    assert deleted == 5
    assert set(Recording.objects.values_list("pk", flat=True)) == {r.pk for r in new + others}
    assert not any(files[r.pk].exists() for r in old)
    assert all(files[r.pk].exists() for r in new + others)


def test_a_carrier_hiccup_is_tried_again_later(tenant, webhook_server, run_tasks, monkeypatch):
    from tests.conftest import queued_call

    monkeypatch.setattr(recordings, "FETCH_RETRY_SECONDS", 0.2)
    call = queued_call(tenant, record=True, status="completed")
    webhook_server.responses["/rec"] = (503, b"busy", 0)
    recordings.recording_fetch.enqueue(call.pk, webhook_server.url("/rec"), None)
    run_tasks()
    assert not Recording.objects.exists()
    webhook_server.responses["/rec"] = (200, wav_bytes(1), 0)
    run_tasks(wait=1)
    assert Recording.objects.get(call=call).format == "wav"
    assert [r.path for r in webhook_server.received].count("/rec") == 2


def test_a_carrier_that_keeps_failing_is_given_up(tenant, webhook_server, run_tasks, monkeypatch):
    from tests.conftest import queued_call

    monkeypatch.setattr(recordings, "FETCH_RETRY_SECONDS", 0.05)
    call = queued_call(tenant, record=True, status="completed")
    webhook_server.responses["/rec"] = (502, b"", 0)
    recordings.recording_fetch.enqueue(call.pk, webhook_server.url("/rec"), None)
    run_tasks(wait=2.5)
    assert not Recording.objects.exists()
    assert [r.path for r in webhook_server.received].count("/rec") == recordings.FETCH_ATTEMPTS


@pytest.mark.parametrize("seconds", [0, 0.3, 1, 3.7])
def test_the_sandbox_wav_has_exactly_the_talk_in_it(seconds):
    with wave.open(io.BytesIO(recordings.sandbox_wav(seconds))) as audio:
        assert audio.getnframes() == round(seconds * 8000)
        frames = audio.readframes(audio.getnframes())
    if seconds >= 1:
        # Tone in the first half of each second, silence in the second half.
        assert max(frames[: 8000]) > 0 and set(frames[8000:16000]) == {0}


def test_the_webhook_guides_recording_ready_has_the_fields_a_real_one_carries(tenant, webhook_server, run_tasks):
    import json

    from tests.test_webhook_guide import code_block, guide_section

    place(tenant, webhook_server, run_tasks, record=True)
    run_tasks(wait=0.5)
    [ready] = [r for r in webhook_server.received if r.body.get("event") == "recording_ready"]
    documented = json.loads(code_block(guide_section("### recording_ready"), "json"))
    real = json.loads(ready.raw)
    assert {name: type(value) for name, value in documented.items()} == {
        name: type(value) for name, value in real.items()
    }


def test_retention_deleting_an_old_call_deletes_its_recordings_file(tenant, _recordings_in_a_temporary_folder):
    from callcenter import retention
    from tests.conftest import queued_call

    old = queued_call(tenant, record=True, status="completed")
    kept = queued_call(tenant, record=True, status="completed")
    Call.objects.filter(pk=old.pk).update(ended_at=timezone.now() - timedelta(days=400))
    Call.objects.filter(pk=kept.pk).update(ended_at=timezone.now())
    gone = recordings.recording_store(call=old, data=wav_bytes(0.1), format="wav", duration=0.1)
    stays = recordings.recording_store(call=kept, data=wav_bytes(0.1), format="wav", duration=0.1)
    gone_path = _recordings_in_a_temporary_folder / gone.file.name
    stays_path = _recordings_in_a_temporary_folder / stays.file.name

    retention.purge()

    assert list(Recording.objects.values_list("pk", flat=True)) == [stays.pk]
    assert not gone_path.exists() and stays_path.exists()


def test_a_rolled_back_deletion_keeps_the_file(tenant, _recordings_in_a_temporary_folder):
    from django.db import transaction

    from tests.conftest import queued_call

    call = queued_call(tenant, record=True, status="completed")
    recording = recordings.recording_store(call=call, data=wav_bytes(0.1), format="wav", duration=0.1)
    path = _recordings_in_a_temporary_folder / recording.file.name
    with pytest.raises(RuntimeError), transaction.atomic():
        Recording.objects.filter(pk=recording.pk).delete()
        raise RuntimeError("changed my mind")
    assert Recording.objects.filter(pk=recording.pk).exists() and path.exists()
