"""Call recordings: storing them, fetching carriers' files, the sandbox's WAV, and deleting them.

A recording is kept in our own storage (settings.STORAGES["recordings"]) and served only
through organization-checked views; a carrier's recording URL is fetched once by the worker
(calls.urlguard's SSRF rules, RECORDING_MAX_BYTES, RECORDING_FETCH_TIMEOUT) and never given
to anyone. Storing one writes the signed `recording_ready` webhook (calls.delivery).
"""

from __future__ import annotations

import io
import logging
import math
import re
import struct
import tempfile
import wave
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any

import requests
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from calls import delivery, jobs, urlguard
from calls.jobs import job
from calls.models import Call, CallStatus, Recording, RecordingPolicy
from tenants.models import Organization

logger = logging.getLogger(__name__)

SANDBOX_RATE = 8000
_session = urlguard.pinned_session("callcenter-recordings/1.0")


class RecordingRefused(Exception):
    """A carrier's recording cannot be taken (unsafe URL, too large, refused): not tried again."""


class FetchFailed(Exception):
    """A carrier's recording could not be fetched this time (timeout, 5xx, broken connection)."""


# A carrier's file may not be ready the moment it says so, or its server may hiccup:
# attempts, the first wait, and the doubling of waits after it.
FETCH_ATTEMPTS = 5
FETCH_RETRY_SECONDS = 30.0


def policy_for(organization: Organization) -> RecordingPolicy:
    """The organization's recording policy (defaults when it never set one; nothing is written)."""
    return RecordingPolicy.objects.filter(organization=organization).first() or RecordingPolicy(
        organization=organization
    )


def policy_save(*, organization: Organization, **fields: Any) -> RecordingPolicy:
    policy, _ = RecordingPolicy.objects.update_or_create(organization=organization, defaults=fields)
    return policy


def disclosure_for(call: Call) -> str:
    """The prompt to play before `call` is recorded, or "" (not recorded, or no disclosure)."""
    if not call.record:
        return ""
    policy = policy_for(call.organization)
    return policy.disclosure_text.strip() if policy.disclosure else ""


def sandbox_wav_file(seconds: float, rate: int = SANDBOX_RATE) -> IO[bytes]:
    """A playable WAV (PCM, 16-bit, mono) of a simulated conversation, in a temporary file:
    half a second of a quiet 440 Hz tone, then half a second of silence, for `seconds`.

    Written a second at a time, so a call that stayed on for hours never sits in memory whole.
    """
    count = max(int(round(seconds * rate)), 0)
    step = 2 * math.pi * 440 / rate
    half = rate // 2
    tone = struct.pack(f"<{half}h", *(int(6000 * math.sin(step * index)) for index in range(half)))
    second = tone + bytes(2 * (rate - half))  # 440 Hz fits a half second whole, so seconds join smoothly
    handle = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with wave.open(handle, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        whole, rest = divmod(count, rate)
        for _ in range(whole):
            out.writeframes(second)
        out.writeframes(second[: 2 * rest])
    handle.seek(0)
    return handle


def sandbox_wav(seconds: float, rate: int = SANDBOX_RATE) -> bytes:
    with sandbox_wav_file(seconds, rate) as handle:
        return handle.read()


def wav_duration(data: bytes | IO[bytes]) -> float | None:
    try:
        with wave.open(io.BytesIO(data) if isinstance(data, bytes) else data, "rb") as audio:
            return audio.getnframes() / float(audio.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def audio_format(data: bytes, content_type: str = "") -> str | None:
    """"wav" or "mp3" by the file's first bytes (the content type only as a hint), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def recording_store(*, call: Call, data: bytes | IO[bytes], format: str, duration: float) -> Recording | None:
    """Keep `data` (bytes or an open file) as `call`'s recording and owe the customer
    `recording_ready`. None if it has one already."""
    if Recording.objects.filter(call=call).exists():
        return None
    content = ContentFile(data) if isinstance(data, bytes) else File(data)
    recording = Recording(organization_id=call.organization_id, call=call, duration=round(duration, 3),
                          format=format, size=content.size)
    recording.file.save(f"{call.call_uuid}.{format}", content, save=False)
    try:
        with transaction.atomic():
            recording.save()
            delivery.recording_ready_write(recording)
    except IntegrityError:
        # Another worker stored it first (a carrier repeated its callback): drop our file.
        recording.file.delete(save=False)
        return None
    return recording


@job(priority=jobs.NETWORK)
def sandbox_recording_make(call_id: int) -> None:
    """The sandbox's recording of a finished call: a WAV as long as the talk was."""
    call = Call.objects.get(pk=call_id)
    if not call.record or call.answered_at is None or call.ended_at is None:
        return
    seconds = max((call.ended_at - call.answered_at).total_seconds(), 0.0)
    with sandbox_wav_file(seconds) as handle:
        with wave.open(handle, "rb") as audio:
            duration = audio.getnframes() / float(audio.getframerate())
        handle.seek(0)
        recording_store(call=call, data=handle, format="wav", duration=duration)


def sandbox_call_ended(sender: Any, *, call: Call, previous: str, **kwargs: Any) -> None:
    """Receiver of lifecycle.transitioned: a recorded sandbox call that was answered and has
    ended gets its recording, queued with the move."""
    if call.carrier == "sandbox" and call.record and call.answered_at and call.status in (
        CallStatus.COMPLETED, CallStatus.ENDED
    ):
        call_id = call.pk
        sandbox_recording_make.enqueue(call_id)


def recording_fetch_enqueue(call: Call, url: str, duration: float | None = None) -> None:
    """A carrier said where its recording of `call` is: the worker fetches it once this commits."""
    if not call.record or not url:
        return
    call_id = call.pk
    recording_fetch.enqueue(call_id, url, duration)


@job(priority=jobs.NETWORK)
def recording_fetch(call_id: int, url: str, duration: float | None = None, attempt: int = 1) -> None:
    call = Call.objects.get(pk=call_id)
    if Recording.objects.filter(call=call).exists():
        return
    try:
        data = download(url)
    except RecordingRefused as exc:
        logger.warning("recording of call %s not taken: %s", call.call_uuid, exc)
        return
    except FetchFailed as exc:
        if attempt >= FETCH_ATTEMPTS:
            logger.warning("recording of call %s not taken after %s attempts: %s", call.call_uuid, attempt, exc)
            return
        later = timezone.now() + timedelta(seconds=FETCH_RETRY_SECONDS * 2 ** (attempt - 1))
        recording_fetch.using(run_after=later).enqueue(call_id, url, duration, attempt + 1)
        return
    with data:
        head = data.read(16)
        data.seek(0)
        _keep(call, data, head, duration)


def _keep(call: Call, data: IO[bytes], head: bytes, duration: float | None) -> None:
    found = audio_format(head)
    if found is None:
        logger.warning("recording of call %s not taken: not WAV or MP3 audio", call.call_uuid)
        return
    seconds = (wav_duration(data) if found == "wav" else None) or duration or float(call.duration)
    data.seek(0)
    recording_store(call=call, data=data, format=found, duration=seconds)


def download(url: str) -> IO[bytes]:
    """The file at `url`, in a temporary file: public addresses only, no redirects, at most
    RECORDING_MAX_BYTES (so a large recording never sits in memory whole)."""
    limit = settings.RECORDING_MAX_BYTES
    timeout = settings.RECORDING_FETCH_TIMEOUT
    try:
        prepared = _session.prepare_request(requests.Request("GET", url))
        response = urlguard.pinned_send(_session, prepared, timeout=(3.05, timeout), stream=True)
    except urlguard.UnsafeURL as exc:
        raise RecordingRefused(f"the recording URL is not allowed: {exc}") from None
    except (requests.RequestException, ValueError) as exc:
        raise FetchFailed(f"cannot fetch the recording ({type(exc).__name__})") from None
    with response:
        if response.status_code == 429 or response.status_code >= 500:
            raise FetchFailed(f"the carrier answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise RecordingRefused(f"the carrier answered HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RecordingRefused(f"the recording is larger than {limit} bytes")
        body = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        received = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                received += len(chunk)
                if received > limit:
                    raise RecordingRefused(f"the recording is larger than {limit} bytes")
                body.write(chunk)
        except requests.RequestException as exc:
            body.close()
            raise FetchFailed(f"the recording download broke off ({type(exc).__name__})") from None
        except RecordingRefused:
            body.close()
            raise
    body.seek(0)
    return body


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _chunks(handle: Any, remaining: int) -> Iterator[bytes]:
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def audio_response(request: HttpRequest, recording: Recording, *, download: bool = False) -> HttpResponseBase:
    """Stream a recording from our storage, honouring one `Range: bytes=a-b` (players seek with it)."""
    size = recording.size
    handle = recording.file.open("rb")
    disposition = "attachment" if download else "inline"
    filename = f"{recording.call.request_uuid}.{recording.format}"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    start, end = 0, size - 1
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        else:  # the last N bytes
            start = max(size - int(last), 0)
        if start > end or start >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        streamed = StreamingHttpResponse(_chunks(handle, end - start + 1), status=206,
                                         content_type=recording.content_type)
        streamed["Content-Range"] = f"bytes {start}-{end}/{size}"
        streamed["Content-Length"] = str(end - start + 1)
    else:
        streamed = StreamingHttpResponse(_chunks(handle, size), content_type=recording.content_type)
        streamed["Content-Length"] = str(size)
    streamed["Accept-Ranges"] = "bytes"
    streamed["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # Private audio: never kept by shared caches.
    streamed["Cache-Control"] = "private, no-store"
    return streamed


def recording_file_delete(sender: Any, *, instance: Recording, **kwargs: Any) -> None:
    """post_delete receiver: however a recording row goes (retention deleting its call, this
    module, the admin), its file goes once the deletion commits (a rollback keeps both)."""
    name = instance.file.name
    if not name:
        return
    storage = instance.file.storage

    def delete() -> None:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("recording file %s could not be deleted", name)

    transaction.on_commit(delete)


def recordings_delete_before(organization: Organization, cutoff: datetime, batch_size: int = 500) -> int:
    """Delete `organization`'s recordings created before `cutoff`, rows and files; the count deleted.

    Works in batches of `batch_size`, each its own short transaction, so a long retention
    backlog never holds one huge one. Files go as each batch commits (recording_file_delete).
    """
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Recording.objects.filter(organization=organization, created_at__lt=cutoff)
                .order_by("created_at", "pk").values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            Recording.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
