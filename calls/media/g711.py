"""G.711 audio: µ-law (PCMU) and A-law (PCMA) to and from 16-bit linear PCM (L16), and 8k <-> 16k resampling.

Every function takes and returns `bytes`. L16 here is signed 16-bit **little-endian**, as
SFVoPI streams it; `swap16` converts from and to the big-endian L16 some carriers send.

Python 3.11's stdlib `audioop` does this in C, and it is used when present. It is
deprecated (PEP 594) and gone from Python 3.13, so the same conversions are also written
here as 256-entry tables (`bytes.translate` for 8-bit -> 8-bit, `array` lookups
otherwise); `tests/media/test_g711.py` checks both give the same bytes for every code and
every 16-bit sample. Set `USE_AUDIOOP = False` (or run on 3.13+) to use the tables.
"""

from __future__ import annotations

import sys
import warnings
from array import array
from types import ModuleType

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop as _audioop
    audioop: ModuleType | None = _audioop
except ImportError:  # Python 3.13+
    audioop = None

USE_AUDIOOP = audioop is not None
_LITTLE = sys.byteorder == "little"

# Segment (exponent) ends of the two laws, as G.711 draws them: A-law on 13-bit
# magnitudes, µ-law on 14-bit ones with a bias of 33 added first.
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ULAW_CLIP = 8159
_ULAW_BIAS = 33


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for index, end in enumerate(ends):
        if value <= end:
            return index
    return len(ends)


def alaw_decode_code(code: int) -> int:
    """One A-law code to its linear sample: even bits are inverted on the wire (XOR 0x55)."""
    code ^= 0x55
    mantissa, segment = code & 0x0F, (code >> 4) & 0x07
    value = (mantissa << 4) + 8 if segment == 0 else ((mantissa << 4) + 0x108) << (segment - 1)
    return value if code & 0x80 else -value


def ulaw_decode_code(code: int) -> int:
    """One µ-law code to its linear sample: every bit is inverted on the wire."""
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + 132) << ((code >> 4) & 0x07)
    return 132 - magnitude if code & 0x80 else magnitude - 132


def alaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to its A-law code (the nearest step below, as G.711 quantizes)."""
    value = sample >> 3  # A-law works on 13 bits
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    segment = _segment(value, _ALAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def ulaw_encode_sample(sample: int) -> int:
    """One signed 16-bit sample to its µ-law code."""
    value = sample >> 2  # µ-law works on 14 bits
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, _ULAW_CLIP) + _ULAW_BIAS
    segment = _segment(value, _ULAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


ALAW_TO_LINEAR = array("h", map(alaw_decode_code, range(256)))
ULAW_TO_LINEAR = array("h", map(ulaw_decode_code, range(256)))
# Encoding by table: indexed by the 16-bit sample read as unsigned (sample & 0xFFFF).
_LINEAR_TO_ALAW = bytes(alaw_encode_sample(value - 65536 if value > 32767 else value) for value in range(65536))
_LINEAR_TO_ULAW = bytes(ulaw_encode_sample(value - 65536 if value > 32767 else value) for value in range(65536))
# A-law <-> µ-law through the linear value (one table lookup per byte).
ALAW_TO_ULAW = bytes(_LINEAR_TO_ULAW[ALAW_TO_LINEAR[code] & 0xFFFF] for code in range(256))
ULAW_TO_ALAW = bytes(_LINEAR_TO_ALAW[ULAW_TO_LINEAR[code] & 0xFFFF] for code in range(256))


def _samples(l16: bytes) -> array:
    samples = array("h", l16[: len(l16) // 2 * 2])
    if not _LITTLE:
        samples.byteswap()
    return samples


def _l16(samples: array) -> bytes:
    if not _LITTLE:
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _native(l16: bytes) -> bytes:
    """audioop works in the machine's byte order."""
    if _LITTLE:
        return l16
    return swap16(l16)


def alaw_to_l16(data: bytes) -> bytes:
    if USE_AUDIOOP and audioop is not None:
        return _native(audioop.alaw2lin(data, 2))
    return _l16(array("h", (ALAW_TO_LINEAR[byte] for byte in data)))


def ulaw_to_l16(data: bytes) -> bytes:
    if USE_AUDIOOP and audioop is not None:
        return _native(audioop.ulaw2lin(data, 2))
    return _l16(array("h", (ULAW_TO_LINEAR[byte] for byte in data)))


def l16_to_alaw(l16: bytes) -> bytes:
    l16 = l16[: len(l16) // 2 * 2]
    if USE_AUDIOOP and audioop is not None:
        return audioop.lin2alaw(_native(l16), 2)
    table = _LINEAR_TO_ALAW
    return bytes(table[sample & 0xFFFF] for sample in _samples(l16))


def l16_to_ulaw(l16: bytes) -> bytes:
    l16 = l16[: len(l16) // 2 * 2]
    if USE_AUDIOOP and audioop is not None:
        return audioop.lin2ulaw(_native(l16), 2)
    table = _LINEAR_TO_ULAW
    return bytes(table[sample & 0xFFFF] for sample in _samples(l16))


def alaw_to_ulaw(data: bytes) -> bytes:
    return data.translate(ALAW_TO_ULAW)


def ulaw_to_alaw(data: bytes) -> bytes:
    return data.translate(ULAW_TO_ALAW)


def swap16(data: bytes) -> bytes:
    """Big-endian L16 <-> little-endian L16."""
    samples = array("h", data[: len(data) // 2 * 2])
    samples.byteswap()
    return samples.tobytes()


class Resampler:
    """Converts one stream of L16 between sample rates, frame after frame.

    It keeps the filter state between frames (audioop.ratecv's), so 20 ms frames join
    without clicks. The table fallback interpolates linearly, carrying the last sample over.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self.source_rate = source_rate
        self.target_rate = target_rate
        self._state: object = None
        self._position = 0.0  # fallback: where the next output sample falls, in input samples
        self._previous: int | None = None

    def convert(self, l16: bytes) -> bytes:
        if self.source_rate == self.target_rate or not l16:
            return l16
        if USE_AUDIOOP and audioop is not None:
            out, self._state = audioop.ratecv(_native(l16), 2, 1, self.source_rate, self.target_rate, self._state)
            return _native(out)
        return self._interpolate(_samples(l16))

    def _interpolate(self, samples: array) -> bytes:
        # Prepend the previous frame's last sample so output positions between frames interpolate too.
        points = ([self._previous] if self._previous is not None else []) + list(samples)
        offset = 1 if self._previous is not None else 0
        step = self.source_rate / self.target_rate
        out = array("h")
        position = self._position
        last = len(points) - 1
        while position + offset <= last:
            at = position + offset
            left = int(at)
            right = min(left + 1, last)
            fraction = at - left
            out.append(round(points[left] + (points[right] - points[left]) * fraction))
            position += step
        self._position = position - len(samples)
        self._previous = points[-1]
        return _l16(out)


CODECS = ("PCMA", "PCMU", "L16")


def to_l16(data: bytes, codec: str) -> bytes:
    """Wire bytes in `codec` (L16 little-endian) to L16 little-endian."""
    if codec == "PCMA":
        return alaw_to_l16(data)
    if codec == "PCMU":
        return ulaw_to_l16(data)
    if codec == "L16":
        return data[: len(data) // 2 * 2]
    raise ValueError(f"unknown codec {codec!r}")


def from_l16(l16: bytes, codec: str) -> bytes:
    if codec == "PCMA":
        return l16_to_alaw(l16)
    if codec == "PCMU":
        return l16_to_ulaw(l16)
    if codec == "L16":
        return l16[: len(l16) // 2 * 2]
    raise ValueError(f"unknown codec {codec!r}")


class Transcoder:
    """One direction of one stream: codec and rate in -> codec and rate out.

    PCMA <-> PCMU at the same rate is one table lookup per byte; anything else goes
    through L16 (and the resampler when the rates differ).
    """

    def __init__(self, source_codec: str, source_rate: int, target_codec: str, target_rate: int) -> None:
        for codec in (source_codec, target_codec):
            if codec not in CODECS:
                raise ValueError(f"unknown codec {codec!r}")
        self.source_codec, self.target_codec = source_codec, target_codec
        self.resampler = Resampler(source_rate, target_rate)

    def convert(self, data: bytes) -> bytes:
        same_rate = self.resampler.source_rate == self.resampler.target_rate
        if same_rate and self.source_codec == self.target_codec:
            return data
        if same_rate and (self.source_codec, self.target_codec) == ("PCMA", "PCMU"):
            return alaw_to_ulaw(data)
        if same_rate and (self.source_codec, self.target_codec) == ("PCMU", "PCMA"):
            return ulaw_to_alaw(data)
        return from_l16(self.resampler.convert(to_l16(data, self.source_codec)), self.target_codec)
