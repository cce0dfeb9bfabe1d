"""The sandbox's audio stream, against a real WebSocket server playing the customer's media server."""

import asyncio
import base64
import json
import logging
import math
import re
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from django.db import connection
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from calls import lifecycle
from calls.carriers import sandbox_media
from calls.models import FINAL_STATUSES, Call

pytestmark = pytest.mark.django_db(transaction=True)

PCMA_SILENCE = bytes([0xD5]) * 160
STREAM_ID = re.compile(r"^SFV_STRM_(IN|OUT|BI)_[0-9A-HJKMNP-TV-Z]{26}$")


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@dataclass
class Connection:
    socket: object
    messages: list = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    close_code: int | None = None

    def events(self, name):
        return [message for message in self.messages if message.get("event") == name]

    def wait_for_event(self, name, count=1):
        return wait_until(lambda: len(self.events(name)) >= count and self.events(name))

    def payloads(self):
        return [base64.b64decode(message["media"]["payload"]) for message in self.events("media")]


class MediaServer:
    """The customer's media server: accepts the sandbox's sockets and records what they carry."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.connections = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._server = self._run(lambda: serve(self._handle, "127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/media"

    def _run(self, make_awaitable):
        async def wrapped():
            return await make_awaitable()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(10)

    async def _handle(self, ws):
        connection = Connection(ws)
        self.connections.append(connection)
        try:
            async for raw in ws:
                connection.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            connection.close_code = ws.close_code
            connection.closed.set()

    def wait_connection(self, count=1):
        wait_until(lambda: len(self.connections) >= count and self.connections[count - 1].messages)
        return self.connections[count - 1]

    def send(self, connection, message):
        self._run(lambda: connection.socket.send(json.dumps(message)))

    def drop(self, connection):
        self.loop.call_soon_threadsafe(connection.socket.transport.abort)

    def close(self, connection, code=1000):
        self._run(lambda: connection.socket.close(code))

    def stop(self):
        self._server.close()
        self._run(self._server.wait_closed)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(autouse=True)
def _reads_never_wait_for_the_engine():
    # In the in-memory test database (SQLite shared cache) a read fails outright while the
    # media engine's thread writes a call; reading uncommitted rows takes no lock.
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture
def media():
    server = MediaServer()
    yield server
    # Whatever a test left live is hung up, and its socket must then close.
    for call in Call.objects.exclude(status__in=FINAL_STATUSES):
        lifecycle.end(call.pk, source="api")
    for connection in server.connections:
        assert connection.closed.wait(10), "a stream outlived its call"
    server.stop()


def answered_call(tenant, webhook_server, run_tasks, media, to="+918000000008", **stream):
    """Place a sandbox call whose answer URL streams to `media`, and wait for its first message."""
    webhook_server.responses["/answer"] = (200, {"stream": {"url": media.url, **stream}}, 0)
    response = tenant.api.post(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": to, "answer_url": webhook_server.url("/answer")},
        format="json",
    )
    assert response.status_code == 200, response.content
    call = Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])
    run_tasks(wait=1)
    call.refresh_from_db()
    assert call.status == "in_progress"
    return call, media.wait_connection()


def alaw_clip(frames):
    """Recognisable A-law audio: no byte is the silence code, and each frame differs."""
    return bytes(0x10 + (index * 7 + index // 160) % 0xC0 for index in range(160 * frames))


def test_it_opens_the_stream_with_a_start_message_then_sends_silence_every_frame(
    tenant, webhook_server, run_tasks, media
):
    call, connection = answered_call(tenant, webhook_server, run_tasks, media)
    start = connection.messages[0]
    assert start["event"] == "start"
    assert STREAM_ID.match(start["streamId"]) and start["streamId"].startswith("SFV_STRM_BI_")
    assert start["callId"] == call.call_uuid
    assert start["mediaFormat"] == {"contentType": "audio/PCMA", "sampleRate": 8000}

    media_messages = connection.wait_for_event("media", 10)
    for message in media_messages:
        assert message["streamId"] == start["streamId"]
        assert (message["media"]["contentType"], message["media"]["sampleRate"]) == ("audio/PCMA", 8000)
        assert base64.b64decode(message["media"]["payload"]) == PCMA_SILENCE


@pytest.mark.parametrize(
    "codec, rate, direction, content_type, frame_bytes, tag",
    [
        ("PCMU", 8000, "INBOUND", "audio/PCMU", 160, "IN"),
        ("L16", 8000, "OUTBOUND", "audio/x-l16", 320, "OUT"),
        ("L16", 16000, "BOTH", "audio/x-l16", 640, "BI"),
        ("L16", 48000, "BOTH", "audio/x-l16", 1920, "BI"),
    ],
)
def test_it_sizes_frames_for_the_stream_codec_and_rate(
    tenant, webhook_server, run_tasks, media, codec, rate, direction, content_type, frame_bytes, tag
):
    _, connection = answered_call(
        tenant, webhook_server, run_tasks, media, codec=codec, sample_rate=rate, direction=direction
    )
    start = connection.messages[0]
    assert start["streamId"].startswith(f"SFV_STRM_{tag}_")
    assert start["mediaFormat"] == {"contentType": content_type, "sampleRate": rate}
    for message in connection.wait_for_event("media", 5):
        assert message["media"]["contentType"] == content_type and message["media"]["sampleRate"] == rate
        silence = base64.b64decode(message["media"]["payload"])
        assert silence == (bytes([0xFF]) * 160 if codec == "PCMU" else bytes(frame_bytes))


def test_it_echoes_played_audio_and_acks_a_checkpoint_once_it_has_played(tenant, webhook_server, run_tasks, media):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media)
    clip = alaw_clip(3)
    media.send(connection, {"event": "playAudio", "media": {"contentType": "audio/PCMA", "sampleRate": 8000,
                                                          "payload": base64.b64encode(clip).decode()}})
    media.send(connection, {"event": "checkpoint", "streamId": connection.messages[0]["streamId"],
                            "name": "greeting"})

    [ack] = connection.wait_for_event("playedStream")
    assert ack == {"event": "playedStream", "streamId": connection.messages[0]["streamId"], "name": "greeting"}
    frames = connection.payloads()
    first = frames.index(clip[:160])
    assert frames[first : first + 3] == [clip[:160], clip[160:320], clip[320:]]
    assert all(frame == PCMA_SILENCE for frame in frames[:first])
    # The ack follows the last echoed frame.
    last_echo = [i for i, m in enumerate(connection.messages) if m.get("event") == "media"][first + 2]
    assert connection.messages.index(ack) > last_echo
    assert connection.events("dtmf") == []


def test_it_echoes_l16_audio_sample_for_sample(tenant, webhook_server, run_tasks, media):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media, codec="L16", sample_rate=16000)
    samples = [round(8000 * math.sin(index / 5)) for index in range(320)]
    clip = b"".join(sample.to_bytes(2, "little", signed=True) for sample in samples)
    media.send(connection, {"event": "playAudio", "media": {"contentType": "audio/x-l16", "sampleRate": 16000,
                                                          "payload": base64.b64encode(clip).decode()}})
    wait_until(lambda: clip in connection.payloads())


def test_it_converts_played_audio_to_the_stream_codec(tenant, webhook_server, run_tasks, media):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media, codec="PCMU")
    samples = [round(12000 * math.sin(index / 4)) for index in range(160)]
    clip = b"".join(sample.to_bytes(2, "little", signed=True) for sample in samples)
    media.send(connection, {"event": "playAudio", "media": {"contentType": "audio/x-l16", "sampleRate": 8000,
                                                          "payload": base64.b64encode(clip).decode()}})
    echoed = wait_until(lambda: [f for f in connection.payloads() if f != bytes([0xFF]) * 160])[0]
    heard = [sandbox_media.ulaw_decode(code) for code in echoed]
    # µ-law keeps each sample within its segment's step (1/16 of the magnitude, plus the bias).
    assert all(abs(h - s) <= abs(s) / 16 + 132 for h, s in zip(heard, samples))


def test_it_flushes_queued_audio_on_clear_audio_and_acks_pending_checkpoints(
    tenant, webhook_server, run_tasks, media
):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media)
    clip = alaw_clip(500)  # ten seconds
    media.send(connection, {"event": "playAudio", "media": {"payload": base64.b64encode(clip).decode()}})
    media.send(connection, {"event": "checkpoint", "name": "after-clip"})
    wait_until(lambda: clip[:160] in connection.payloads())
    media.send(connection, {"event": "clearAudio", "streamId": connection.messages[0]["streamId"]})

    connection.wait_for_event("playedStream")
    events = [message["event"] for message in connection.messages]
    cleared_at = events.index("clearedAudio")
    assert events.index("playedStream") > cleared_at
    assert connection.messages[events.index("playedStream")]["name"] == "after-clip"
    wait_until(lambda: len(connection.messages) > cleared_at + 10)
    after = [base64.b64decode(m["media"]["payload"]) for m in connection.messages[cleared_at:]
             if m["event"] == "media"]
    # One frame may have been on its way out when the clear arrived; the rest are silence.
    assert after[1:] and all(frame == PCMA_SILENCE for frame in after[1:])
    echoed = [frame for frame in connection.payloads() if frame != PCMA_SILENCE]
    assert len(echoed) < 500


def key_tone(key, rate, seconds):
    row = next(index for index, keys in enumerate(("123A", "456B", "789C", "*0#D")) if key in keys)
    low, high = (697, 770, 852, 941)[row], (1209, 1336, 1477, 1633)["123A456B789C*0#D".index(key) % 4]
    return [round(6000 * (math.sin(2 * math.pi * low * n / rate) + math.sin(2 * math.pi * high * n / rate)))
            for n in range(round(rate * seconds))]


def test_it_reports_dtmf_tones_played_to_the_callee_once_per_press(tenant, webhook_server, run_tasks, media):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media)
    gap = [0] * 480
    samples = key_tone("5", 8000, 0.1) + gap + key_tone("5", 8000, 0.1) + gap + key_tone("#", 8000, 0.1)
    clip = bytes(sandbox_media.alaw_encode(sample) for sample in samples)
    media.send(connection, {"event": "playAudio", "media": {"payload": base64.b64encode(clip).decode()}})
    media.send(connection, {"event": "checkpoint", "name": "dialled"})
    connection.wait_for_event("playedStream")
    presses = connection.events("dtmf")
    assert [press["dtmf"] for press in presses] == [{"digit": "5"}, {"digit": "5"}, {"digit": "#"}]
    assert presses[0]["streamId"] == connection.messages[0]["streamId"]


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_it_recognises_every_dtmf_key_and_nothing_else(rate):
    frame = round(rate * 0.02)
    for key in "123A456B789C*0#D":
        assert sandbox_media.dtmf_key(key_tone(key, rate, 0.02), rate) == key
    lone_tone = [round(9000 * math.sin(2 * math.pi * 1000 * n / rate)) for n in range(frame)]
    assert sandbox_media.dtmf_key(lone_tone, rate) is None
    assert sandbox_media.dtmf_key([0] * frame, rate) is None
    assert sandbox_media.dtmf_key([(n * 7919) % 20001 - 10000 for n in range(frame)], rate) is None


def test_it_ignores_played_audio_on_a_one_way_stream(tenant, webhook_server, run_tasks, media):
    _, connection = answered_call(tenant, webhook_server, run_tasks, media, bidirectional=False)
    media.send(connection, {"event": "playAudio", "media": {"payload": base64.b64encode(alaw_clip(2)).decode()}})
    media.send(connection, {"event": "checkpoint", "name": "never"})
    frames_before = len(connection.events("media"))
    connection.wait_for_event("media", frames_before + 25)
    assert all(frame == PCMA_SILENCE for frame in connection.payloads())
    assert connection.events("playedStream") == []


def test_it_closes_the_socket_when_the_call_is_hung_up(tenant, webhook_server, run_tasks, media):
    call, connection = answered_call(tenant, webhook_server, run_tasks, media)
    response = tenant.api.delete(f"/superfone/sfvopi/calls/{call.request_uuid}")
    assert response.json()["data"]["status"] == "completed"
    assert connection.closed.wait(10)
    assert connection.close_code == 1000
    assert len(media.connections) == 1


def test_it_closes_the_socket_when_the_callee_hangs_up(tenant, webhook_server, run_tasks, media, settings):
    settings.SANDBOX_TALK_SECONDS = 1.5
    call, connection = answered_call(tenant, webhook_server, run_tasks, media, to="+918000000001")
    run_tasks(wait=3)
    call.refresh_from_db()
    assert call.status == "completed"
    assert connection.closed.wait(10)
    assert connection.close_code == 1000


def test_it_reconnects_after_a_drop_and_sends_start_again_with_the_same_stream_id(
    tenant, webhook_server, run_tasks, media
):
    call, first = answered_call(tenant, webhook_server, run_tasks, media)
    first.wait_for_event("media", 3)
    media.drop(first)
    second = media.wait_connection(2)
    assert second.messages[0] == first.messages[0]
    assert second.messages[0]["event"] == "start" and second.messages[0]["callId"] == call.call_uuid
    second.wait_for_event("media", 3)
    call.refresh_from_db()
    assert call.status == "in_progress"


def test_it_hangs_up_when_the_stream_times_out_and_keep_call_alive_is_false(
    tenant, webhook_server, run_tasks, media
):
    call, connection = answered_call(
        tenant, webhook_server, run_tasks, media, stream_timeout=1, keep_call_alive=False
    )
    assert connection.closed.wait(10) and connection.close_code == 1000
    wait_until(lambda: Call.objects.get(pk=call.pk).status == "completed")
    ended = call.events.get(applied=True, status="completed")
    assert ended.source == "sandbox" and "stream_timeout" in ended.note


def test_it_keeps_the_call_up_when_the_stream_times_out_with_keep_call_alive(
    tenant, webhook_server, run_tasks, media
):
    call, connection = answered_call(tenant, webhook_server, run_tasks, media, stream_timeout=1)
    assert connection.closed.wait(10) and connection.close_code == 1000
    call.refresh_from_db()
    assert call.status == "in_progress"
    assert len(media.connections) == 1


def test_it_hangs_up_when_the_customer_closes_the_stream_and_keep_call_alive_is_false(
    tenant, webhook_server, run_tasks, media
):
    call, connection = answered_call(tenant, webhook_server, run_tasks, media, keep_call_alive=False)
    media.close(connection, 1000)
    wait_until(lambda: Call.objects.get(pk=call.pk).status == "completed")
    assert call.events.get(applied=True, status="completed").source == "sandbox"
    assert len(media.connections) == 1


def test_it_keeps_the_call_up_when_the_stream_cannot_connect(tenant, webhook_server, run_tasks, media, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    media.url = f"ws://127.0.0.1:{closed_port}/media"
    webhook_server.responses["/answer"] = (200, {"stream": {"url": media.url, "keep_call_alive": False}}, 0)
    caplog.set_level(logging.WARNING, logger="calls.carriers.sandbox_media")
    response = tenant.api.post(
        "/superfone/sfvopi/calls",
        {"from": tenant.from_number, "to": "+918000000008", "answer_url": webhook_server.url("/answer")},
        format="json",
    )
    call = Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])
    run_tasks(wait=1)
    wait_until(lambda: any("cannot connect" in r.getMessage() and call.call_uuid in r.getMessage()
                           for r in caplog.records))
    call.refresh_from_db()
    assert call.status == "in_progress"


def test_it_round_trips_every_g711_code():
    for code in range(256):
        assert sandbox_media.alaw_encode(sandbox_media.alaw_decode(code)) == code
        if code != 0x7F:  # µ-law has two zeros; 0x7F comes back as 0xFF
            assert sandbox_media.ulaw_encode(sandbox_media.ulaw_decode(code)) == code
    assert sandbox_media.ulaw_encode(sandbox_media.ulaw_decode(0x7F)) == 0xFF


def test_it_decodes_g711_to_the_standard_levels():
    assert (sandbox_media.alaw_decode(0xD5), sandbox_media.alaw_decode(0x55)) == (8, -8)
    assert (sandbox_media.alaw_decode(0xAA), sandbox_media.alaw_decode(0x2A)) == (32256, -32256)
    assert (sandbox_media.ulaw_decode(0xFF), sandbox_media.ulaw_decode(0x7F)) == (0, 0)
    assert (sandbox_media.ulaw_decode(0x80), sandbox_media.ulaw_decode(0x00)) == (32124, -32124)
    assert sandbox_media.alaw_encode(-32768) == 0x2A and sandbox_media.ulaw_encode(32767) == 0x80
    levels = [sandbox_media.alaw_decode(code ^ 0x55) for code in range(0x80, 0x100)]
    assert levels == sorted(levels)  # the positive half rises with the code
