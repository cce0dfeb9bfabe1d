"""Recording on real carriers (their local fakes): asked for in the request, fetched from the callback's URL."""

from xml.etree import ElementTree

import pytest

from calls import recordings
from calls.models import Call, Recording
from tests.carriers.conftest import placed, queue_call, queue_click_to_call
from tests.media.conftest import _recordings_in_a_temporary_folder  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def recorded(call):
    Call.objects.filter(pk=call.pk).update(record=True)
    call.refresh_from_db()
    return call


def stored(call):
    recording = Recording.objects.get(call=call)
    with recording.file.open("rb") as handle:
        return recording, handle.read()


def test_vobiz_records_the_session_after_the_disclosure_and_we_fetch_its_file(
    client, tenant, vobiz, vobiz_account, webhook_server, run_tasks
):
    recordings.policy_save(organization=tenant.organization, disclosure=True, disclosure_text="We record calls.")
    call = recorded(queue_call(tenant, webhook_server))
    body = placed(vobiz, call, run_tasks)
    uuid = call.carrier_call_id
    answer = vobiz.callback(client, body["answer_url"], vobiz.params(uuid, "StartApp"))
    run_tasks()
    answer = vobiz.follow(client, answer, uuid)
    xml = ElementTree.fromstring(answer.content)
    # The disclosure, then the session recording, then the stream: in that order.
    assert [element.tag for element in xml] == ["Speak", "Record", "Stream"]
    assert xml[0].text == "We record calls."
    record = xml[1].attrib
    assert record["recordSession"] == "true" and record["callbackUrl"].endswith("/recording/")

    wav = recordings.sandbox_wav(2)
    webhook_server.responses["/vobiz-recording.wav"] = (200, wav, 0)
    done = vobiz.callback(client, record["callbackUrl"], {"RecordUrl": webhook_server.url("/vobiz-recording.wav"),
                                                          "RecordingDuration": "2", "RecordingID": "r-1",
                                                          "CallUUID": uuid})
    assert done.status_code == 204
    run_tasks()
    recording, data = stored(call)
    assert data == wav and recording.format == "wav" and abs(recording.duration - 2) < 0.01


def test_vobiz_does_not_record_an_unrecorded_call(client, tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    call = queue_call(tenant, webhook_server)
    body = placed(vobiz, call, run_tasks)
    answer = vobiz.callback(client, body["answer_url"], vobiz.params(call.carrier_call_id, "StartApp"))
    run_tasks()
    answer = vobiz.follow(client, answer, call.carrier_call_id)
    assert [element.tag for element in ElementTree.fromstring(answer.content)] == ["Stream"]


def test_a_forged_vobiz_recording_callback_is_refused(client, tenant, vobiz, vobiz_account, webhook_server, run_tasks):
    call = recorded(queue_call(tenant, webhook_server))
    body = placed(vobiz, call, run_tasks)
    url = body["hangup_url"].replace("/hangup/", "/recording/")
    webhook_server.responses["/evil.wav"] = (200, recordings.sandbox_wav(1), 0)
    forged = vobiz.callback(client, url, {"RecordUrl": webhook_server.url("/evil.wav")}, headers={})
    assert forged.status_code == 403
    run_tasks()
    assert not Recording.objects.exists()


def test_callapi_dials_with_record_and_fetches_the_recording_from_the_dial_action(
    client, tenant, callapi, callapi_account, agent, webhook_server, run_tasks
):
    call = recorded(queue_click_to_call(tenant, callapi_account, agent))
    placed(callapi, call, run_tasks)
    rcml = ElementTree.fromstring(callapi.fetch_rcml(client, call.carrier_call_id).content)
    dial = rcml.find("Dial")
    assert dial.attrib["record"] == "true" and dial.attrib["action"].endswith("/recording/")
    assert rcml.find("Say") is None  # no disclosure unless the organization asks for one

    wav = recordings.sandbox_wav(1.5)
    webhook_server.responses["/CA1.wav"] = (200, wav, 0)
    from tests.carriers.fakes.providers import post_form

    done = post_form(client, dial.attrib["action"], {"CallSid": call.carrier_call_id, "DialCallStatus": "completed",
                                                     "RecordingUrl": webhook_server.url("/CA1.wav"),
                                                     "RecordingDuration": "1.5"})
    assert done.status_code == 200
    run_tasks()
    assert stored(call)[1] == wav


def test_didforsale_recording_url_on_completed_is_fetched(
    client, tenant, didforsale, didforsale_account, agent, webhook_server, run_tasks
):
    call = recorded(queue_click_to_call(tenant, didforsale_account, agent))
    placed(didforsale, call, run_tasks)
    sid = call.carrier_call_id
    didforsale.status(client, sid, "answered")
    didforsale.status(client, sid, "answered", leg_sid="b-1")
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(2000)
    webhook_server.responses["/1.mp3"] = (200, mp3, 0)
    didforsale.status(client, sid, "completed", leg_sid="b-1", CallDurartion="12",
                      RecordingURL=webhook_server.url("/1.mp3"))
    run_tasks()
    recording, data = stored(call)
    assert data == mp3 and recording.format == "mp3" and recording.duration == 12


def test_the_sandbox_logs_the_disclosure_in_the_calls_events(tenant, webhook_server, run_tasks):
    recordings.policy_save(organization=tenant.organization, disclosure=True)
    response = tenant.api.post("/superfone/sfvopi/calls", {
        "from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
        "record": True}, format="json")
    call = Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])
    run_tasks(wait=1)
    answered = call.events.get(status="answered", applied=True)
    assert answered.payload["disclosure"] == "This call may be recorded for quality and training purposes."
    assert answered.note == "played the recording disclosure before recording"
