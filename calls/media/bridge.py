"""The stream bridge: a carrier whose stream dialect is not SFVoPI's streams to us, and we to the customer.

Vobiz speaks the Plivo dialect (docs/providers.md, "Vobiz WS protocol"): ids nested under
`start`, µ-law or big-endian L16 only, no `streamId` on its acks. So its <Stream> element
gets OUR WebSocket URL (`/ws/media/<token>/`, the token a signed, per-call value), and this
socket opens the customer's `stream.url` (checked by calls.urlguard, connected to the
address it checked) and translates every message both ways:

    carrier -> customer                      customer -> carrier
    start{start:{streamId,callId,...}}       playAudio (transcoded to the carrier's format)
       -> start{streamId,callId,mediaFormat} clearAudio -> clearAudio{streamId}
    media (transcoded to the customer's      checkpoint{name} -> checkpoint{streamId,name}
       codec and rate)                       stop -> stop{streamId}
    dtmf, playedStream, clearedAudio
       (with our streamId)

The customer sees exactly what a Superfone stream sends (the sandbox's format). When the
customer's socket drops (any close but 1000) it is reopened with back-off and `start` is
sent again with the same streamId, as SFVoPI documents. The call's end (a final status
from the lifecycle, pushed to the group `media-bridge.<call id>`) or the carrier closing
its socket closes both sides with 1000.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core import signing
from django.db import transaction
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from calls import realtime, streams, urlguard
from calls.media import g711
from calls.models import FINAL_STATUSES, Call, CarrierKind

logger = logging.getLogger(__name__)

TOKEN_SALT = "calls.media.bridge"
# A call lives at most a day (call_time_limit <= 86400) after it is answered.
TOKEN_MAX_AGE = 2 * 86400
# Close codes of our own for a refused carrier socket.
CLOSE_BAD_TOKEN = 4403
CLOSE_NO_STREAM = 4404

# Carriers streaming through the bridge (their <Stream> gets our URL).
BRIDGED_CARRIERS = frozenset({CarrierKind.VOBIZ})


def bridge_token(call: Call) -> str:
    return signing.dumps({"call": call.pk, "uuid": str(call.call_uuid)}, salt=TOKEN_SALT, compress=True)


def bridge_url(call: Call) -> str:
    """Where the carrier streams `call`: our WebSocket, from PUBLIC_BASE_URL (https -> wss)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws/media/{bridge_token(call)}/"


def group_name(call_id: int) -> str:
    return f"media-bridge.{call_id}"


def call_ended(sender: Any, *, call: Call, previous: str, **kwargs: Any) -> None:
    """Receiver of lifecycle.transitioned: a bridged call that ended closes its bridge after commit."""
    if call.carrier in BRIDGED_CARRIERS and call.status in FINAL_STATUSES and call.stream:
        call_id = call.pk
        transaction.on_commit(lambda: realtime.send(group_name(call_id), {"type": "call.ended"}))


# What the carrier streams, by the encoding its `start` names (Vobiz: mediaFormat.encoding).
def carrier_format(media_format: Any, fallback: tuple[str, int]) -> tuple[str, int]:
    """(codec, rate) of the carrier's side; L16 here is big-endian on the way in."""
    if not isinstance(media_format, dict):
        return fallback
    encoding = str(media_format.get("encoding") or media_format.get("contentType") or "").lower()
    rate = media_format.get("sampleRate")
    rate = rate if type(rate) is int and rate in (8000, 16000, 24000) else fallback[1]
    if "mulaw" in encoding or "pcmu" in encoding:
        return "PCMU", 8000
    if "alaw" in encoding or "pcma" in encoding:
        return "PCMA", 8000
    if "l16" in encoding:
        return "L16", rate
    return fallback


def vobiz_format_for(stream: dict[str, Any]) -> tuple[str, int]:
    """The format we ask Vobiz for, nearest the customer's: µ-law for G.711, else L16 at a rate it has."""
    if stream["codec"] == "L16":
        return "L16", max((rate for rate in (8000, 16000, 24000) if rate <= stream["sample_rate"]), default=8000)
    return "PCMU", 8000


class Translator:
    """The message translation of one bridged stream, without any socket (so it can be tested alone)."""

    def __init__(self, call_uuid: str, stream: dict[str, Any], stream_id: str) -> None:
        self.call_uuid = call_uuid
        self.stream = stream
        self.stream_id = stream_id
        self.codec, self.rate = stream["codec"], stream["sample_rate"]
        self.carrier_codec, self.carrier_rate = vobiz_format_for(stream)
        self.carrier_stream_id = ""
        self.media_format = {"contentType": streams.CONTENT_TYPES[self.codec], "sampleRate": self.rate}
        self._inbound = self._make_inbound()
        self._outbound: dict[tuple[str, int], g711.Transcoder] = {}

    def _make_inbound(self) -> g711.Transcoder:
        return g711.Transcoder(self.carrier_codec, self.carrier_rate, self.codec, self.rate)

    def _message(self, event: str, **fields: Any) -> str:
        return json.dumps({"event": event, "streamId": self.stream_id, **fields})

    def start_message(self) -> str:
        return self._message("start", callId=self.call_uuid, mediaFormat=self.media_format)

    def from_carrier(self, message: dict[str, Any]) -> tuple[str | None, bool]:
        """A carrier message as the customer's message (or None), and whether the stream ended."""
        event = message.get("event")
        if event == "start":
            nested = message.get("start")
            start: dict[str, Any] = nested if isinstance(nested, dict) else message
            self.carrier_stream_id = str(start.get("streamId") or message.get("streamId") or "")
            found = carrier_format(start.get("mediaFormat"), (self.carrier_codec, self.carrier_rate))
            if found != (self.carrier_codec, self.carrier_rate):
                self.carrier_codec, self.carrier_rate = found
                self._inbound = self._make_inbound()
            return self.start_message(), False
        if event == "media":
            media = message.get("media")
            if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
                return None, False
            try:
                data = base64.b64decode(media["payload"], validate=True)
            except (binascii.Error, ValueError):
                return None, False
            if self.carrier_codec == "L16":
                data = g711.swap16(data)  # Vobiz streams L16 big-endian
            payload = base64.b64encode(self._inbound.convert(data)).decode()
            return self._message("media", media={"payload": payload, **self.media_format}), False
        if event == "dtmf":
            given = message.get("dtmf")
            dtmf: dict[str, Any] = given if isinstance(given, dict) else {}
            digit = str(dtmf.get("digit") or message.get("digit") or "")
            return (self._message("dtmf", dtmf={"digit": digit}) if digit else None), False
        if event == "playedStream":
            return self._message("playedStream", name=message.get("name")), False
        if event == "clearedAudio":
            return self._message("clearedAudio"), False
        if event == "stop":
            return None, True
        return None, False

    def to_carrier(self, message: dict[str, Any]) -> str | None:
        """A customer message as the carrier's message, or None when there is nothing to pass on.

        Raises ValueError for audio the carrier cannot be given (the caller logs it).
        """
        event = message.get("event")
        if event in ("playAudio", "clearAudio", "checkpoint") and not self.stream["bidirectional"]:
            raise ValueError(f"{event} on a one-way stream")
        if event == "playAudio":
            return self._play(message.get("media"))
        if event == "clearAudio":
            return json.dumps({"event": "clearAudio", "streamId": self.carrier_stream_id})
        if event == "checkpoint":
            return json.dumps({"event": "checkpoint", "streamId": self.carrier_stream_id,
                               "name": str(message.get("name") or "")})
        if event == "stop":
            return json.dumps({"event": "stop", "streamId": self.carrier_stream_id})
        raise ValueError(f"unknown event {event!r}")

    def _play(self, media: Any) -> str:
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise ValueError("playAudio needs media.payload")
        content_type = str(media.get("contentType", streams.CONTENT_TYPES[self.codec])).split(";")[0].strip()
        codec = streams.CODECS_BY_CONTENT_TYPE.get(content_type.lower())
        if codec is None:
            raise ValueError(f"unknown contentType {content_type!r}")
        rate = media.get("sampleRate", self.rate if codec == self.codec else streams.CODEC_RATES[codec][0])
        if rate not in streams.CODEC_RATES[codec]:
            raise ValueError(f"sampleRate {rate!r} is not allowed for {codec}")
        try:
            data = base64.b64decode(media["payload"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("media.payload is not base64") from exc
        transcoder = self._outbound.get((codec, rate))
        if transcoder is None:
            transcoder = self._outbound[(codec, rate)] = g711.Transcoder(
                codec, rate, self.carrier_codec, self.carrier_rate
            )
        # playAudio's L16 is little-endian at Vobiz, like ours: no byte swap on the way out.
        payload = base64.b64encode(transcoder.convert(data)).decode()
        content = "audio/x-mulaw" if self.carrier_codec == "PCMU" else "audio/x-l16"
        return json.dumps({"event": "playAudio", "media": {"contentType": content,
                                                            "sampleRate": self.carrier_rate, "payload": payload}})


def _bridged_call(token: str) -> tuple[int, str, dict[str, Any]] | None:
    """The live, streaming call a token names: (id, call_uuid, Stream JSON), or None."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    call = Call.objects.filter(pk=value.get("call"), call_uuid=value.get("uuid")).only(
        "pk", "call_uuid", "stream", "status", "carrier"
    ).first()
    if call is None or call.status in FINAL_STATUSES or not call.stream or call.carrier not in BRIDGED_CARRIERS:
        return None
    return call.pk, str(call.call_uuid), call.stream


class BridgeSocket:
    """The carrier's end of one bridged stream, as a plain ASGI WebSocket application.

    Routed without the browsers' Origin check (carriers send none). Not a Channels consumer:
    at 50 frames a second per call, a consumer's per-message dispatch (a task and a wait
    per frame, and a database hop to close stale connections) costs more than the
    translation itself. It listens, through calls.realtime's hub, for the one push that
    matters here: the call's end.
    """

    def __init__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope, self.receive, self.asgi_send = scope, receive, send
        self.customer: ClientConnection | None = None
        self.ending = False
        self.closed = False
        self.started = False  # the carrier's start has been seen (and is resent on every reconnect)
        self.joined: list[str] = []
        self.call_id = 0
        self.helpers: list[asyncio.Task] = []

    async def run(self) -> None:
        if (await self.receive())["type"] != "websocket.connect":
            return
        found = await database_sync_to_async(_bridged_call)(self.scope["url_route"]["kwargs"]["token"])
        if found is None:
            await self.asgi_send({"type": "websocket.close", "code": CLOSE_BAD_TOKEN})
            return
        self.call_id, call_uuid, stream = found
        stream_id = streams.stream_id(stream['direction'])
        self.translator = Translator(call_uuid, stream, stream_id)
        loop = asyncio.get_running_loop()
        self.joined = [group_name(self.call_id)]
        await realtime.join(self, self.joined)
        await self.asgi_send({"type": "websocket.accept"})
        helpers = self.helpers
        helpers.append(loop.create_task(self._customer_side()))
        try:
            while True:
                message = await self.receive()
                if message["type"] == "websocket.receive":
                    await self._from_carrier(message.get("text") or "")
                elif message["type"] == "websocket.disconnect":
                    break
        finally:
            self.ending = self.closed = True
            if self.customer is not None:
                await self.customer.close(1000, "call ended")
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await realtime.leave(self, self.joined)

    # calls.realtime.Listener: called on this loop by the hub.
    def deliver(self, message: dict) -> None:
        if message.get("type") == "call.ended":
            self.helpers.append(asyncio.get_running_loop().create_task(self._end()))

    def lost(self) -> None:
        # The call's end may have been missed; the carrier still closes its stream when the
        # call ends, so the bridge is left to that rather than cut mid-call.
        logger.warning("the bridge of call %s lost its live-push subscription", self.call_id)

    async def _send(self, text: str) -> None:
        if not self.closed:
            await self.asgi_send({"type": "websocket.send", "text": text})

    async def _from_carrier(self, text: str) -> None:
        try:
            message = json.loads(text)
        except (TypeError, ValueError):
            return
        if not isinstance(message, dict):
            return
        forward, ended = self.translator.from_carrier(message)
        if message.get("event") == "start":
            self.started = True
        if ended:
            await self._end()
            return
        if forward is not None and self.customer is not None:
            try:
                await self.customer.send(forward)
            except ConnectionClosed:
                pass  # the customer side reconnects; audio in between is dropped, as on a live line

    async def _end(self) -> None:
        """Close both sides with 1000."""
        if self.ending:
            return
        self.ending = True
        if self.customer is not None:
            await self.customer.close(1000, "call ended")
        if not self.closed:
            self.closed = True
            await self.asgi_send({"type": "websocket.close", "code": 1000})

    async def _connect_customer(self) -> ClientConnection:
        url = self.translator.stream["url"]
        loop = asyncio.get_running_loop()
        addresses = await loop.run_in_executor(None, urlguard.resolve_public_addresses, "http" + url[2:])
        # No per-message compression: base64 audio barely shrinks, and deflating every 20 ms
        # frame costs CPU on both ends.
        return await connect(url, host=addresses[0], proxy=None, open_timeout=streams.OPEN_TIMEOUT_SECONDS,
                             compression=None, user_agent_header="callcenter-media-bridge/1.0")

    async def _customer_side(self) -> None:
        connected = False
        failures = 0
        while not self.ending:
            try:
                socket = await self._connect_customer()
            except (OSError, WebSocketException, urlguard.UnsafeURL, TimeoutError) as exc:
                failures += 1
                if failures >= (streams.RECONNECT_ATTEMPTS if connected else streams.CONNECT_ATTEMPTS):
                    logger.warning("media bridge: cannot reach the customer's stream for call %s: %s",
                                   self.translator.call_uuid, exc)
                    await self._end()
                    return
                await asyncio.sleep(streams.reconnect_delay(failures))
                continue
            failures, connected = 0, True
            self.customer = socket
            if self.started:
                # A reconnection: SFVoPI sends start again, with the same streamId.
                await socket.send(self.translator.start_message())
            try:
                async for raw in socket:
                    await self._from_customer(raw)
            except ConnectionClosed:
                pass
            self.customer = None
            if self.ending:
                return
            if socket.close_code == 1000:
                # The customer ended the stream: the carrier's stream stops too.
                await self._send(json.dumps({"event": "stop", "streamId": self.translator.carrier_stream_id}))
                await self._end()
                return
            logger.info("media bridge: customer socket for call %s dropped (%s); reconnecting",
                        self.translator.call_uuid, socket.close_code)

    async def _from_customer(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("not a JSON object")
            forward = self.translator.to_carrier(message)
        except ValueError as exc:  # JSONDecodeError is a ValueError too
            logger.info("media bridge: call %s: customer message not passed on: %s", self.translator.call_uuid, exc)
            return
        if forward is not None:
            await self._send(forward)


async def bridge_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application of /ws/media/<token>/."""
    await BridgeSocket(scope, receive, send).run()
