"""The sandbox's media side: it streams a call's audio to the customer's WebSocket server.

When a sandbox call is answered, the sandbox asks this engine to follow it. Once the
answer webhook's Stream JSON has moved the call in progress (calls.delivery.resolve_answer,
a task like every other webhook, so webhooks keep their order), the engine speaks
Superfone's audio streaming protocol (docs/providers.md, "Superfone audio stream") to
`stream.url` as the WebSocket client:

- `start` first (`event`, `streamId`, `callId`, `mediaFormat`), again after every reconnection,
  with the same streamId;
- `media` every 20 ms: base64 audio in the stream's codec and rate;
- the callee is an echo line. Audio the customer sends with `playAudio` is queued and
  comes back as the callee's media as it is played, frame by frame (silence otherwise).
  `clearAudio` flushes the queue and is acked with `clearedAudio`; `checkpoint` is acked
  with `playedStream` once the audio queued before it has been sent (checkpoints flushed by
  `clearAudio` are acked straight after `clearedAudio`). With `bidirectional: false` the
  customer cannot send audio, so those three events are ignored;
- `dtmf` when the callee "presses a key": as a network's in-band detector would, the engine
  listens to each echoed frame and reports a DTMF key tone (both of its frequencies carrying
  most of the frame's energy) once per tone burst. So playing DTMF tones to the echo line
  exercises the customer's dtmf handler.

The stream ends when the call reaches a final status (the socket is closed with 1000),
when `stream_timeout` runs out, or when the customer closes the socket with 1000. Any
other drop is reconnected with back-off (RECONNECT_ATTEMPTS tries). A stream that ends
while the call is still up hangs the call up when `keep_call_alive` is false. A stream
that never connects (CONNECT_ATTEMPTS tries) is logged and the call keeps going to its
normal end (Superfone's behaviour there is undocumented). The stream URL passes the same
guard as webhook URLs (calls.urlguard), and the socket goes to the address it checked.

One asyncio loop in a daemon thread per process runs every stream. It learns that a
followed call has its stream, and that a streaming call ended, by polling the database
(one query for all its calls every POLL_SECONDS) rather than by signals: calls end in other
processes too (an API hang-up in a web process, a timer in another worker), and the
database is what they all share.
Database work runs on one executor thread of its own, so the engine holds at most one
connection, released whenever no stream is running.
"""

import asyncio
import base64
import json
import logging
import math
import sys
import threading
from array import array
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection, connections
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from calls import lifecycle, streams, urlguard
from calls.media import g711
from calls.models import FINAL_STATUSES, Call

logger = logging.getLogger(__name__)

FRAME_SECONDS = 0.02
POLL_SECONDS = 0.25
# After a stall longer than this the frame clock restarts instead of sending a burst.
MAX_LAG_SECONDS = 0.2
MAX_QUEUED_SECONDS = 600

_DTMF_ROWS = (697, 770, 852, 941)
_DTMF_COLUMNS = (1209, 1336, 1477, 1633)
_DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


# G.711 lives in calls.media.g711 (stdlib audioop where present, tables otherwise).
alaw_encode = g711.alaw_encode_sample
alaw_decode = g711.alaw_decode_code
ulaw_encode = g711.ulaw_encode_sample
ulaw_decode = g711.ulaw_decode_code


def decode(data, codec):
    """Wire bytes to signed 16-bit samples."""
    samples = array("h", g711.to_l16(data, codec))
    if sys.byteorder == "big":
        samples.byteswap()  # g711 speaks little-endian L16, as the wire does
    return samples


def encode(samples, codec):
    """Signed 16-bit samples to wire bytes."""
    samples = array("h", samples)
    if sys.byteorder == "big":
        samples.byteswap()
    return g711.from_l16(samples.tobytes(), codec)


def resample(samples, source_rate, target_rate):
    """Linear interpolation: enough for an echo line, and only when the rates differ."""
    if source_rate == target_rate or not samples:
        return samples
    count = max(1, round(len(samples) * target_rate / source_rate))
    step = source_rate / target_rate
    last = len(samples) - 1
    out = array("h")
    for index in range(count):
        position = index * step
        left = min(int(position), last)
        right = min(left + 1, last)
        fraction = position - left
        out.append(round(samples[left] + (samples[right] - samples[left]) * fraction))
    return out


def _tone_power(samples, frequency, rate):
    """Goertzel: the power of one frequency in the frame, without a full Fourier transform."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    previous = before_previous = 0.0
    for sample in samples:
        previous, before_previous = sample + coefficient * previous - before_previous, previous
    return previous * previous + before_previous * before_previous - coefficient * previous * before_previous


def dtmf_key(samples, rate):
    """The DTMF key sounding in this frame, or None."""
    energy = sum(sample * sample for sample in samples)
    if energy < len(samples) * 100**2:  # quieter than about -50 dBFS
        return None
    rows = [_tone_power(samples, frequency, rate) for frequency in _DTMF_ROWS]
    columns = [_tone_power(samples, frequency, rate) for frequency in _DTMF_COLUMNS]
    row = max(range(4), key=rows.__getitem__)
    column = max(range(4), key=columns.__getitem__)
    # A lone sinusoid's power here is len * energy / 2; a key's two tones hold most of it,
    # each well above its neighbours.
    if rows[row] + columns[column] < 0.6 * len(samples) * energy / 2:
        return None
    if any(4 * power > rows[row] for index, power in enumerate(rows) if index != row):
        return None
    if any(4 * power > columns[column] for index, power in enumerate(columns) if index != column):
        return None
    return _DTMF_KEYS[row][column]


class Playback:
    """The callee's earpiece: audio queued by playAudio, with checkpoints between the clips."""

    def __init__(self):
        self._chunks: deque[array] = deque()
        self._offset = 0  # samples of the first chunk already played
        self._queued = 0  # samples ever queued
        self._played = 0  # samples ever played or cleared
        self._marks: deque[tuple[int, str]] = deque()  # (position in the queue, name)

    @property
    def pending(self):
        return self._queued - self._played

    def add(self, samples):
        if samples:
            self._chunks.append(samples)
            self._queued += len(samples)

    def mark(self, name):
        self._marks.append((self._queued, name))

    def clear(self):
        """Drop the queued audio; returns the checkpoints that will now never be reached by audio."""
        self._chunks.clear()
        self._offset = 0
        self._played = self._queued
        names = [name for _, name in self._marks]
        self._marks.clear()
        return names

    def take(self, count):
        """The next `count` samples (None if nothing is queued) and the checkpoints they complete."""
        frame = None
        if self._chunks:
            frame = array("h")
            while self._chunks and len(frame) < count:
                chunk = self._chunks[0]
                piece = chunk[self._offset : self._offset + count - len(frame)]
                frame.extend(piece)
                self._offset += len(piece)
                if self._offset >= len(chunk):
                    self._chunks.popleft()
                    self._offset = 0
            self._played += len(frame)
            frame.extend(array("h", bytes(2 * (count - len(frame)))))
        reached = []
        while self._marks and self._marks[0][0] <= self._played:
            reached.append(self._marks.popleft()[1])
        return frame, reached


class _Stream:
    def __init__(self, call_id, call_uuid, stream):
        self.call_id = call_id
        self.call_uuid = call_uuid
        self.stream = stream
        self.codec = stream["codec"]
        self.rate = stream["sample_rate"]
        self.stream_id = streams.stream_id(stream['direction'])
        self.media_format = {"contentType": streams.CONTENT_TYPES[self.codec], "sampleRate": self.rate}
        self.frame_samples = round(self.rate * FRAME_SECONDS)
        self.silence = base64.b64encode(encode(array("h", bytes(2 * self.frame_samples)), self.codec)).decode()
        self.playback = Playback()
        self.key_down = None  # the DTMF key sounding in the last frame
        self.over = asyncio.Event()
        self.why = ""
        self.task = None  # held so the loop's weak reference is not the only one

    def finish(self, why):
        if not self.over.is_set():
            self.why = why
            self.over.set()

    def message(self, event, **fields):
        return json.dumps({"event": event, "streamId": self.stream_id, **fields})


def _poll(stream_ids, waiting_ids):
    """Which streaming calls are still live, and {id: (call_uuid, Stream JSON or None)} of the live waiting ones."""
    close_old_connections()
    if connection.vendor == "sqlite":
        # The poll must never hold up the lifecycle's writers. In SQLite's shared-cache mode
        # (Django's in-memory test database) a reader locks the table unless it reads
        # uncommitted rows; with a WAL file (the default) this changes nothing.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")
    live = Call.objects.exclude(status__in=FINAL_STATUSES)
    running = set(live.filter(pk__in=stream_ids).values_list("pk", flat=True)) if stream_ids else set()
    waiting = {}
    if waiting_ids:
        for call_id, call_uuid, stream in live.filter(pk__in=waiting_ids).values_list("pk", "call_uuid", "stream"):
            waiting[call_id] = (str(call_uuid), stream)
    return running, waiting


def _release_connection():
    connections.close_all()


def _hang_up(call_id, why):
    close_old_connections()
    lifecycle.end(call_id, source="sandbox", reason=f"stream_ended: {why}")


class _Engine:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.streams = {}  # call id -> _Stream
        self.waiting = set()  # ids of answered calls whose stream is not known yet
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-media-db")
        threading.Thread(target=self._run, name="sandbox-media", daemon=True).start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self._watcher = self.loop.create_task(self._watch())  # held, as tasks are weakly referenced
        self.loop.run_forever()

    def _db(self, function, *args):
        return sync_to_async(function, thread_sensitive=False, executor=self._db_executor)(*args)

    def follow(self, call_id):
        self.loop.call_soon_threadsafe(self.waiting.add, call_id)

    def _start(self, call_id, call_uuid, stream):
        self.waiting.discard(call_id)
        if call_id not in self.streams:
            active = _Stream(call_id, call_uuid, stream)
            self.streams[call_id] = active
            active.task = self.loop.create_task(self._serve(active))

    async def _watch(self):
        holding_connection = False
        while True:
            await asyncio.sleep(POLL_SECONDS)
            stream_ids, waiting_ids = list(self.streams), list(self.waiting)
            try:
                if not stream_ids and not waiting_ids:
                    if holding_connection:
                        holding_connection = False
                        await self._db(_release_connection)
                    continue
                holding_connection = True
                running, waiting = await self._db(_poll, stream_ids, waiting_ids)
            except Exception:  # a database hiccup must not stop the watch
                logger.exception("sandbox media: polling call statuses failed")
                continue
            for call_id in stream_ids:
                if call_id not in running and call_id in self.streams:
                    self.streams[call_id].finish("call_ended")
            for call_id in waiting_ids:
                if call_id not in waiting:
                    self.waiting.discard(call_id)  # ended before it had a stream
                elif waiting[call_id][1] is not None:
                    self._start(call_id, *waiting[call_id])

    async def _serve(self, active):
        timeout = self.loop.call_later(active.stream["stream_timeout"], active.finish, "stream_timeout")
        connected = False
        failures = 0
        try:
            while not active.over.is_set():
                try:
                    socket = await self._connect(active)
                except (OSError, WebSocketException, urlguard.UnsafeURL) as exc:
                    failures += 1
                    if failures >= (streams.RECONNECT_ATTEMPTS if connected else streams.CONNECT_ATTEMPTS):
                        logger.warning("sandbox media: cannot connect to %s for call %s after %s attempts: %s",
                                       active.stream["url"], active.call_uuid, failures, exc)
                        active.finish("unreachable")
                        break
                    delay = streams.reconnect_delay(failures)
                    try:
                        await asyncio.wait_for(active.over.wait(), delay)
                    except TimeoutError:
                        pass
                    continue
                failures = 0
                connected = True
                await self._converse(active, socket)
        except Exception:
            logger.exception("sandbox media: stream for call %s failed", active.call_uuid)
            active.finish("error")
        finally:
            timeout.cancel()
            self.streams.pop(active.call_id, None)
        if connected and active.why != "call_ended" and not active.stream["keep_call_alive"]:
            try:
                await self._db(_hang_up, active.call_id, active.why)
            except Exception:  # the sweeper still ends the call at its time limit
                logger.exception("sandbox media: hanging up call %s failed", active.call_uuid)

    async def _connect(self, active):
        url = active.stream["url"]
        # The guard speaks http(s); ws and wss resolve and connect alike.
        addresses = await self.loop.run_in_executor(None, urlguard.resolve_public_addresses, "http" + url[2:])
        return await connect(
            url,
            host=addresses[0],
            proxy=None,
            open_timeout=streams.OPEN_TIMEOUT_SECONDS,
            user_agent_header="callcenter-sandbox-media/1.0",
        )

    async def _converse(self, active, socket):
        parts = [
            self.loop.create_task(self._send_media(active, socket)),
            self.loop.create_task(self._receive(active, socket)),
            self.loop.create_task(active.over.wait()),
        ]
        done, pending = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
        for part in pending:
            part.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for part in done:
            error = part.exception()
            if error is not None and not isinstance(error, ConnectionClosed):
                await socket.close(1011, "sandbox error")
                raise error
        if active.over.is_set():
            await socket.close(1000, active.why)
        elif socket.close_code == 1000:
            active.finish("customer_closed")
        else:
            logger.info("sandbox media: socket for call %s dropped (%s); reconnecting",
                        active.call_uuid, socket.close_code)
            await socket.close()

    async def _send_media(self, active, socket):
        await socket.send(active.message("start", callId=active.call_uuid, mediaFormat=active.media_format))
        next_at = self.loop.time()
        while True:
            samples, reached = active.playback.take(active.frame_samples)
            payload = active.silence if samples is None else base64.b64encode(encode(samples, active.codec)).decode()
            await socket.send(active.message("media", media={"payload": payload, **active.media_format}))
            for name in reached:
                await socket.send(active.message("playedStream", name=name))
            key = None if samples is None else dtmf_key(samples, active.rate)
            if key is not None and key != active.key_down:
                await socket.send(active.message("dtmf", dtmf={"digit": key}))
            active.key_down = key
            next_at += FRAME_SECONDS
            delay = next_at - self.loop.time()
            if delay < -MAX_LAG_SECONDS:
                next_at, delay = self.loop.time(), 0
            await asyncio.sleep(max(delay, 0))

    async def _receive(self, active, socket):
        async for raw in socket:
            try:
                message = json.loads(raw)
            except (TypeError, ValueError):
                logger.info("sandbox media: call %s sent a frame that is not JSON text", active.call_uuid)
                continue
            event = message.get("event") if isinstance(message, dict) else None
            if event not in ("playAudio", "clearAudio", "checkpoint"):
                logger.info("sandbox media: call %s sent unknown event %r", active.call_uuid, event)
            elif not active.stream["bidirectional"]:
                logger.info("sandbox media: call %s sent %s on a one-way stream", active.call_uuid, event)
            elif event == "playAudio":
                try:
                    active.playback.add(self._incoming_audio(active, message.get("media")))
                except ValueError as exc:
                    logger.info("sandbox media: call %s sent unplayable audio: %s", active.call_uuid, exc)
            elif event == "clearAudio":
                flushed = active.playback.clear()
                await socket.send(active.message("clearedAudio"))
                for name in flushed:
                    await socket.send(active.message("playedStream", name=name))
            else:
                active.playback.mark(message.get("name"))

    @staticmethod
    def _incoming_audio(active, media):
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise ValueError("playAudio needs media.payload")
        content_type = media.get("contentType", streams.CONTENT_TYPES[active.codec])
        codec = streams.CODECS_BY_CONTENT_TYPE.get(str(content_type).lower())
        if codec is None:
            raise ValueError(f"unknown contentType {content_type!r}")
        rate = media.get("sampleRate", active.rate if codec == active.codec else streams.CODEC_RATES[codec][0])
        if rate not in streams.CODEC_RATES[codec]:
            raise ValueError(f"sampleRate {rate!r} is not allowed for {codec}")
        if active.playback.pending > MAX_QUEUED_SECONDS * active.rate:
            raise ValueError(f"more than {MAX_QUEUED_SECONDS} s of audio is already queued")
        try:
            data = base64.b64decode(media["payload"], validate=True)
        except ValueError as exc:
            raise ValueError("media.payload is not base64") from exc
        return resample(decode(data, codec), rate, active.rate)


_engine = None
_engine_lock = threading.Lock()


def stream_follow(*, call_id):
    """Stream an answered sandbox call's audio to the customer once it has its Stream JSON."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
    _engine.follow(call_id)
