"""G.711 against the standard's own numbers: every code both ways, both implementations."""

import math
import struct

import pytest

from calls.media import g711

ALL_CODES = bytes(range(256))
EVERY_SAMPLE = struct.pack("<65536h", *range(-32768, 32768))


def alaw_expected(code: int) -> int:
    """G.711 A-law decoder output (Table 1) scaled to 16 bits, from the segment formula."""
    code ^= 0x55
    segment, step = (code >> 4) & 7, code & 15
    magnitude = (2 * step + 1) if segment == 0 else (2 * step + 33) << (segment - 1)
    return magnitude * 8 if code & 0x80 else -magnitude * 8


def ulaw_expected(code: int) -> int:
    """G.711 µ-law decoder output (Table 2) scaled to 16 bits, from the segment formula."""
    code = ~code & 0xFF
    segment, step = (code >> 4) & 7, code & 15
    magnitude = ((2 * step + 33) << segment) - 33
    return -magnitude * 4 if code & 0x80 else magnitude * 4


@pytest.fixture(params=["audioop", "tables"])
def implementation(request, monkeypatch):
    if request.param == "audioop" and g711.audioop is None:
        pytest.skip("no audioop on this Python")
    monkeypatch.setattr(g711, "USE_AUDIOOP", request.param == "audioop")
    return request.param


def samples(l16: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(l16) // 2}h", l16))


def test_every_alaw_code_decodes_to_the_standard_value(implementation):
    assert samples(g711.alaw_to_l16(ALL_CODES)) == [alaw_expected(code) for code in range(256)]


def test_every_ulaw_code_decodes_to_the_standard_value(implementation):
    assert samples(g711.ulaw_to_l16(ALL_CODES)) == [ulaw_expected(code) for code in range(256)]


def test_known_segment_values():
    # A-law: the smallest step either side of zero, each segment's first value, full scale.
    assert samples(g711.alaw_to_l16(bytes([0xD5, 0x55, 0xC5, 0xF5, 0xAA, 0x2A]))) == [8, -8, 264, 528, 32256, -32256]
    # µ-law: both zeros, the segment boundaries 0/132/396/.../16764, full scale.
    assert samples(g711.ulaw_to_l16(bytes([0xFF, 0x7F, 0x80, 0x00]))) == [0, 0, 32124, -32124]
    firsts = bytes(~(segment << 4) & 0xFF for segment in range(8))
    assert samples(g711.ulaw_to_l16(firsts)) == [0, 132, 396, 924, 1980, 4092, 8316, 16764]


def test_every_code_encodes_back_to_itself(implementation):
    assert g711.l16_to_alaw(g711.alaw_to_l16(ALL_CODES)) == ALL_CODES
    back = g711.l16_to_ulaw(g711.ulaw_to_l16(ALL_CODES))
    # µ-law has two zeros; 0 encodes as the positive one.
    assert back == ALL_CODES.replace(b"\x7f", b"\xff")


def test_both_implementations_encode_every_sample_alike(monkeypatch):
    if g711.audioop is None:
        pytest.skip("no audioop on this Python")
    monkeypatch.setattr(g711, "USE_AUDIOOP", False)
    tables = g711.l16_to_alaw(EVERY_SAMPLE), g711.l16_to_ulaw(EVERY_SAMPLE)
    monkeypatch.setattr(g711, "USE_AUDIOOP", True)
    assert tables == (g711.l16_to_alaw(EVERY_SAMPLE), g711.l16_to_ulaw(EVERY_SAMPLE))


def test_encoding_keeps_each_sample_within_its_step(implementation):
    for encode, decode in ((g711.l16_to_alaw, g711.alaw_to_l16), (g711.l16_to_ulaw, g711.ulaw_to_l16)):
        decoded = samples(decode(encode(EVERY_SAMPLE)))
        for original, value in zip(range(-32768, 32768), decoded, strict=True):
            # The quantization step grows with the segment: within 1/16 of the magnitude (plus the
            # smallest step), and full scale clips at 32256 (A-law) / 32124 (µ-law).
            assert abs(max(min(original, 32124), -32124) - value) <= abs(original) // 16 + 16


def test_alaw_ulaw_transcoding_goes_through_the_linear_value():
    for code in range(256):
        via_linear = g711.l16_to_ulaw(g711.alaw_to_l16(bytes([code])))
        assert g711.alaw_to_ulaw(bytes([code])) == via_linear
    assert g711.alaw_to_ulaw(b"\xd5") == b"\xfe"  # A-law +8 is exactly µ-law +8
    # Out and back again lands within one step of where it started.
    for code in range(256):
        there_and_back = g711.ulaw_to_alaw(g711.alaw_to_ulaw(bytes([code])))
        assert abs(alaw_expected(there_and_back[0]) - alaw_expected(code)) <= max(16, abs(alaw_expected(code)) // 8)


def test_swap16_converts_big_endian_l16():
    assert g711.swap16(struct.pack(">3h", 1, -2, 300)) == struct.pack("<3h", 1, -2, 300)


def tone(rate: int, frequency: float, seconds: float, amplitude: int = 12000) -> bytes:
    count = int(rate * seconds)
    return struct.pack(f"<{count}h", *(round(amplitude * math.sin(2 * math.pi * frequency * n / rate)) for n in range(count)))


@pytest.mark.parametrize(("source", "target"), [(8000, 16000), (16000, 8000)])
def test_resampling_in_frames_keeps_length_and_pitch(implementation, source, target):
    resampler = g711.Resampler(source, target)
    signal = tone(source, 1000, 0.2)
    frame = source // 50 * 2  # 20 ms of L16
    out = b"".join(resampler.convert(signal[i : i + frame]) for i in range(0, len(signal), frame))
    values = samples(out)
    # 20 ms frames in, about 20 ms out in total (a filter may hold back a sample or two).
    assert abs(len(values) - int(target * 0.2)) <= 2
    # Still a 1 kHz tone: count zero crossings over the whole 0.2 s (400 for 1 kHz).
    crossings = sum(1 for a, b in zip(values, values[1:]) if (a < 0) != (b < 0))
    assert 396 <= crossings <= 404
    assert max(values) > 10000


def test_transcoder_pcma_to_l16_16k_and_back_is_close(implementation):
    alaw = g711.l16_to_alaw(tone(8000, 440, 0.1))
    up = g711.Transcoder("PCMA", 8000, "L16", 16000)
    down = g711.Transcoder("L16", 16000, "PCMA", 8000)
    wide = up.convert(alaw)
    assert abs(len(wide) - len(alaw) * 4) <= 4  # twice the samples, two bytes each (a filter may hold one back)
    back = down.convert(wide)
    assert abs(len(back) - len(alaw)) <= 2
    original, returned = samples(g711.alaw_to_l16(alaw)), samples(g711.alaw_to_l16(back))
    # Compare past the filters' start-up; a band-limited tone survives the round trip.
    error = max(abs(a - b) for a, b in zip(original[20:700], returned[20:700]))
    assert error < 1500


def test_transcoder_refuses_an_unknown_codec():
    with pytest.raises(ValueError):
        g711.Transcoder("G729", 8000, "PCMA", 8000)
