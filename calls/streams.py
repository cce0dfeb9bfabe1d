"""Validates the Stream JSON a customer's answer webhook returns (docs/providers.md, "Stream JSON")."""

import json
import secrets
import time

from calls import urlguard

CODEC_RATES = {
    "PCMA": (8000,),
    "PCMU": (8000,),
    "L16": (8000, 16000, 24000, 32000, 44100, 48000),
}

# The SFVoPI stream as our side speaks it to a customer's media server: the sandbox's own
# stream (calls/carriers/sandbox_media.py) and the bridge (calls/media/bridge.py).
CONTENT_TYPES = {"PCMA": "audio/PCMA", "PCMU": "audio/PCMU", "L16": "audio/x-l16"}
CODECS_BY_CONTENT_TYPE = {content_type.lower(): codec for codec, content_type in CONTENT_TYPES.items()}
DIRECTION_TAGS = {"INBOUND": "IN", "OUTBOUND": "OUT", "BOTH": "BI"}
# Connection attempts before giving up: for the first connection, and after a drop.
CONNECT_ATTEMPTS = 3
RECONNECT_ATTEMPTS = 6
OPEN_TIMEOUT_SECONDS = 10
_BACKOFF_FIRST_SECONDS = 0.25
_BACKOFF_CAP_SECONDS = 5.0
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reconnect_delay(failures: int) -> float:
    """Seconds to wait before the next attempt after `failures` failed ones."""
    return min(_BACKOFF_FIRST_SECONDS * 2 ** (failures - 1), _BACKOFF_CAP_SECONDS)


def ulid() -> str:
    """48 bits of milliseconds and 80 random bits in Crockford base32: sortable, 26 characters."""
    value = int(time.time() * 1000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def stream_id(direction: str) -> str:
    """A stream id in the format Superfone uses, e.g. SFV_STRM_BI_01J…"""
    return f"SFV_STRM_{DIRECTION_TAGS[direction]}_{ulid()}"
DIRECTIONS = ("BOTH", "INBOUND", "OUTBOUND")


class InvalidStream(ValueError):
    pass


def _bool(stream, name, default):
    value = stream.get(name, default)
    if not isinstance(value, bool):
        raise InvalidStream(f"stream.{name} must be true or false.")
    return value


def parse_stream(body):
    """Parse an answer webhook's body into a complete Stream JSON with defaults filled in."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidStream("The answer webhook did not return JSON.") from exc
    stream = document.get("stream") if isinstance(document, dict) else None
    if not isinstance(stream, dict):
        raise InvalidStream('The answer webhook must return {"stream": {...}}.')

    url = stream.get("url")
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
        raise InvalidStream("stream.url must be a ws:// or wss:// URL.")
    try:
        # The same guard as webhook URLs, here when the answer is parsed and again when the
        # media side connects (it resolves the name and connects to the address it checked).
        urlguard.check_webhook_url("http" + url[2:])
    except urlguard.UnsafeURL as exc:
        raise InvalidStream(f"stream.url is not allowed: {exc}") from None
    codec = stream.get("codec", "PCMA")
    if codec not in CODEC_RATES:
        raise InvalidStream("stream.codec must be PCMA, PCMU or L16.")
    sample_rate = stream.get("sample_rate", 8000)
    if type(sample_rate) is not int or sample_rate not in CODEC_RATES[codec]:
        allowed = ", ".join(str(rate) for rate in CODEC_RATES[codec])
        raise InvalidStream(f"stream.sample_rate for {codec} must be one of {allowed}.")
    direction = stream.get("direction", "BOTH")
    if direction not in DIRECTIONS:
        raise InvalidStream("stream.direction must be BOTH, INBOUND or OUTBOUND.")
    stream_timeout = stream.get("stream_timeout", 86400)
    if type(stream_timeout) is not int or not 1 <= stream_timeout <= 86400:
        raise InvalidStream("stream.stream_timeout must be 1-86400 seconds.")
    return {
        "url": url,
        "codec": codec,
        "sample_rate": sample_rate,
        "direction": direction,
        "bidirectional": _bool(stream, "bidirectional", True),
        "stream_timeout": stream_timeout,
        "keep_call_alive": _bool(stream, "keep_call_alive", True),
    }
