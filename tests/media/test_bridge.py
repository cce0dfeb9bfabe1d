"""The Vobiz stream bridge: a fake Vobiz (the carrier's socket) and a fake customer media server on loopback."""

import asyncio
import base64
import json
import re
import struct

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from callcenter.asgi import application
from calls import lifecycle
from calls.media import bridge, g711
from calls.streams import parse_stream
from tests.agents.conftest import redis_layer  # noqa: F401  (fixture)
from tests.conftest import queued_call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

STREAM_ID = re.compile(r"^SFV_STRM_BI_[0-9A-HJKMNP-TV-Z]{26}$")
VOBIZ_STREAM_ID = "b77e8a8e-0b8f-4a5e-9d8e-2a1f6f6c2d11"


class Customer:
    """The customer's media server: records each connection's messages; can send, drop or close."""

    def __init__(self):
        self.connections = []
        self.arrived = asyncio.Condition()

    async def handle(self, ws):
        entry = {"ws": ws, "messages": [], "closed": asyncio.Event(), "code": None}
        self.connections.append(entry)
        async with self.arrived:
            self.arrived.notify_all()
        try:
            async for raw in ws:
                entry["messages"].append(json.loads(raw))
                async with self.arrived:
                    self.arrived.notify_all()
        except ConnectionClosed:
            pass
        finally:
            entry["code"] = ws.close_code
            entry["closed"].set()
            async with self.arrived:
                self.arrived.notify_all()

    async def connection(self, index=0):
        async with asyncio.timeout(5):
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.connections) > index)
        return self.connections[index]

    async def next(self, index=0, event=None):
        """The next message (of `event`) this connection has not yet been asked for."""
        entry = await self.connection(index)
        entry.setdefault("read", 0)
        async with asyncio.timeout(5):
            while True:
                async with self.arrived:
                    await self.arrived.wait_for(lambda: len(entry["messages"]) > entry["read"])
                message = entry["messages"][entry["read"]]
                entry["read"] += 1
                if event is None or message["event"] == event:
                    return message


@pytest_asyncio.fixture
async def customer():
    server = Customer()
    async with serve(server.handle, "127.0.0.1", 0) as running:
        server.url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}/media"
        yield server


def bridged_call(tenant, url, **stream):
    body = json.dumps({"stream": {"url": url, **stream}})
    return queued_call(tenant, carrier="vobiz", status="in_progress", stream=parse_stream(body))


async def open_bridge(call):
    vobiz = WebsocketCommunicator(application, f"/ws/media/{bridge.bridge_token(call)}/")  # no Origin, as a carrier
    connected, _ = await vobiz.connect()
    assert connected
    return vobiz


def vobiz_start(encoding="audio/x-mulaw", rate=8000):
    return {"event": "start", "sequenceNumber": 0,
            "start": {"streamId": VOBIZ_STREAM_ID, "callId": "vobiz-call-uuid", "tracks": ["inbound"],
                      "mediaFormat": {"encoding": encoding, "sampleRate": rate}}}


def vobiz_media(data, chunk=1):
    return {"event": "media", "sequenceNumber": chunk, "streamId": VOBIZ_STREAM_ID,
            "media": {"track": "inbound", "timestamp": str(chunk * 20), "chunk": chunk,
                      "payload": base64.b64encode(data).decode()}}


def b64(message):
    return base64.b64decode(message["media"]["payload"])


async def send(vobiz, message):
    await vobiz.send_to(text_data=json.dumps(message))


async def from_bridge(vobiz):
    return json.loads(await vobiz.receive_from(timeout=5))


SPEECH = bytes((0x10 + index * 7) % 0xF0 for index in range(160))


async def test_every_message_type_both_ways_with_a_pcma_customer(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url, codec="PCMA")
    vobiz = await open_bridge(call)
    await customer.connection()
    await send(vobiz, vobiz_start())

    start = await customer.next()
    assert start["event"] == "start" and STREAM_ID.match(start["streamId"])
    assert start["callId"] == str(call.call_uuid)
    assert start["mediaFormat"] == {"contentType": "audio/PCMA", "sampleRate": 8000}
    sid = start["streamId"]

    # Vobiz's µ-law becomes the A-law the customer asked for, frame for frame.
    await send(vobiz, vobiz_media(SPEECH))
    media = await customer.next()
    assert (media["event"], media["streamId"], media["media"]["contentType"], media["media"]["sampleRate"]) == (
        "media", sid, "audio/PCMA", 8000)
    assert b64(media) == g711.ulaw_to_alaw(SPEECH)

    await send(vobiz, {"event": "dtmf", "streamId": VOBIZ_STREAM_ID, "dtmf": {"digit": "7", "track": "inbound"}})
    assert await customer.next() == {"event": "dtmf", "streamId": sid, "dtmf": {"digit": "7"}}

    # The customer's A-law reaches Vobiz as µ-law.
    entry = await customer.connection()
    clip = g711.l16_to_alaw(struct.pack("<160h", *(4000 * ((i // 10) % 2 * 2 - 1) for i in range(160))))
    await entry["ws"].send(json.dumps({"event": "playAudio", "media": {
        "contentType": "audio/PCMA", "sampleRate": 8000, "payload": base64.b64encode(clip).decode()}}))
    play = await from_bridge(vobiz)
    assert play["event"] == "playAudio"
    assert (play["media"]["contentType"], play["media"]["sampleRate"]) == ("audio/x-mulaw", 8000)
    assert b64(play) == g711.alaw_to_ulaw(clip)

    await entry["ws"].send(json.dumps({"event": "checkpoint", "streamId": sid, "name": "greeting"}))
    assert await from_bridge(vobiz) == {"event": "checkpoint", "streamId": VOBIZ_STREAM_ID, "name": "greeting"}
    await send(vobiz, {"event": "playedStream", "streamId": VOBIZ_STREAM_ID, "name": "greeting"})
    assert await customer.next() == {"event": "playedStream", "streamId": sid, "name": "greeting"}

    await entry["ws"].send(json.dumps({"event": "clearAudio", "streamId": sid}))
    assert await from_bridge(vobiz) == {"event": "clearAudio", "streamId": VOBIZ_STREAM_ID}
    await send(vobiz, {"event": "clearedAudio", "streamId": VOBIZ_STREAM_ID})
    assert await customer.next() == {"event": "clearedAudio", "streamId": sid}

    # Junk from the customer is dropped, not passed on and not fatal.
    await entry["ws"].send("not json")
    await entry["ws"].send(json.dumps({"event": "playAudio", "media": {"contentType": "audio/G729", "payload": "AA=="}}))
    await entry["ws"].send(json.dumps({"event": "stop", "streamId": sid}))
    assert await from_bridge(vobiz) == {"event": "stop", "streamId": VOBIZ_STREAM_ID}
    await vobiz.disconnect()


async def test_a_pcmu_customer_gets_vobiz_audio_untouched(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url, codec="PCMU")
    vobiz = await open_bridge(call)
    await customer.connection()
    await send(vobiz, vobiz_start())
    assert (await customer.next())["mediaFormat"] == {"contentType": "audio/PCMU", "sampleRate": 8000}
    await send(vobiz, vobiz_media(SPEECH))
    assert b64(await customer.next()) == SPEECH
    entry = await customer.connection()
    await entry["ws"].send(json.dumps({"event": "playAudio", "media": {
        "contentType": "audio/PCMU", "sampleRate": 8000, "payload": base64.b64encode(SPEECH).decode()}}))
    assert b64(await from_bridge(vobiz)) == SPEECH
    await vobiz.disconnect()


async def test_l16_arrives_big_endian_from_vobiz_and_leaves_little_endian(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url, codec="L16", sample_rate=16000)
    vobiz = await open_bridge(call)
    await customer.connection()
    await send(vobiz, vobiz_start("audio/x-l16", 16000))
    assert (await customer.next())["mediaFormat"] == {"contentType": "audio/x-l16", "sampleRate": 16000}
    values = [(i * 97) % 20000 - 10000 for i in range(320)]
    await send(vobiz, vobiz_media(struct.pack(">320h", *values)))
    assert b64(await customer.next()) == struct.pack("<320h", *values)
    entry = await customer.connection()
    await entry["ws"].send(json.dumps({"event": "playAudio", "media": {
        "contentType": "audio/x-l16", "sampleRate": 16000,
        "payload": base64.b64encode(struct.pack("<320h", *values)).decode()}}))
    play = await from_bridge(vobiz)
    assert (play["media"]["contentType"], play["media"]["sampleRate"]) == ("audio/x-l16", 16000)
    assert b64(play) == struct.pack("<320h", *values)
    await vobiz.disconnect()


async def test_a_pcma_customer_at_8k_hears_vobiz_l16_16k_resampled(tenant, customer):
    # The customer asks L16 at 8000; Vobiz said 16000 in its start: the bridge resamples.
    call = await database_sync_to_async(bridged_call)(tenant, customer.url, codec="L16", sample_rate=8000)
    vobiz = await open_bridge(call)
    await customer.connection()
    await send(vobiz, vobiz_start("audio/x-l16", 16000))
    await customer.next()
    await send(vobiz, vobiz_media(bytes(640)))  # 20 ms of silence at 16 kHz
    out = b64(await customer.next())
    assert abs(len(out) - 320) <= 4 and set(out) == {0}
    await vobiz.disconnect()


async def test_a_dropped_customer_socket_is_reopened_and_hears_start_again(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url)
    vobiz = await open_bridge(call)
    first = await customer.connection()
    await send(vobiz, vobiz_start())
    start = await customer.next()
    first["ws"].transport.abort()  # a drop, not a close

    again = await customer.next(index=1)
    assert again == start  # the same start, the same streamId
    await send(vobiz, vobiz_media(SPEECH, chunk=2))
    media = await customer.next(index=1)
    assert media["streamId"] == start["streamId"] and b64(media) == g711.ulaw_to_alaw(SPEECH)
    await vobiz.disconnect()


@pytest.mark.parametrize("layer", ["in-memory", "redis"])
async def test_the_calls_hangup_closes_both_sides(tenant, customer, layer, request):
    if layer == "redis":
        request.getfixturevalue("redis_layer")  # as production runs it: any process may end the call
    call = await database_sync_to_async(bridged_call)(tenant, customer.url)
    vobiz = await open_bridge(call)
    entry = await customer.connection()
    await send(vobiz, vobiz_start())
    await customer.next()

    await database_sync_to_async(lifecycle.end)(call.pk, source="api")

    closed = await vobiz.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 1000}
    async with asyncio.timeout(5):
        await entry["closed"].wait()
    assert entry["code"] == 1000


async def test_vobiz_closing_its_socket_closes_the_customers(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url)
    vobiz = await open_bridge(call)
    entry = await customer.connection()
    await send(vobiz, vobiz_start())
    await customer.next()
    await vobiz.disconnect()
    async with asyncio.timeout(5):
        await entry["closed"].wait()
    assert entry["code"] == 1000


async def test_the_customer_closing_the_stream_stops_vobiz(tenant, customer):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url)
    vobiz = await open_bridge(call)
    entry = await customer.connection()
    await send(vobiz, vobiz_start())
    await customer.next()
    await entry["ws"].close(1000)
    assert await from_bridge(vobiz) == {"event": "stop", "streamId": VOBIZ_STREAM_ID}
    assert await vobiz.receive_output(timeout=5) == {"type": "websocket.close", "code": 1000}


async def test_it_refuses_a_forged_token_an_ended_call_and_a_non_bridged_carrier(tenant, customer):
    forged = WebsocketCommunicator(application, "/ws/media/not-a-token/")
    assert await forged.connect() == (False, bridge.CLOSE_BAD_TOKEN)

    def ended_and_sandbox():
        ended = bridged_call(tenant, customer.url)
        ended.status = "completed"
        ended.save()
        sandbox = bridged_call(tenant, customer.url)
        sandbox.carrier = "sandbox"
        sandbox.save()
        return ended, sandbox

    for call in await database_sync_to_async(ended_and_sandbox)():
        refused = WebsocketCommunicator(application, f"/ws/media/{bridge.bridge_token(call)}/")
        assert await refused.connect() == (False, bridge.CLOSE_BAD_TOKEN)
    assert customer.connections == []


async def test_a_customer_url_inside_our_network_is_refused(tenant, customer, settings):
    call = await database_sync_to_async(bridged_call)(tenant, customer.url)
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    vobiz = await open_bridge(call)
    # The bridge never reaches 127.0.0.1, gives up and closes the carrier's socket.
    assert await vobiz.receive_output(timeout=10) == {"type": "websocket.close", "code": 1000}
    assert customer.connections == []

