"""Stream URLs from an answer's Stream JSON pass the SSRF guard when parsed and again when connected."""

import asyncio
import json
import socket

import pytest

from calls import streams, urlguard
from calls.carriers import sandbox_media


@pytest.fixture(autouse=True)
def _guarded(settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False


@pytest.mark.parametrize("url", ["ws://127.0.0.1/ws", "wss://[::1]/ws", "ws://169.254.169.254/", "wss://localhost/ws",
                                 "ws://[64:ff9b::a00:1]/ws", "wss://media.internal/ws", "ws://0x7f000001/"])
def test_an_internal_stream_url_is_refused_when_the_answer_is_parsed(url):
    with pytest.raises(streams.InvalidStream, match="stream.url is not allowed"):
        streams.parse_stream(json.dumps({"stream": {"url": url}}))


def test_a_public_stream_url_is_accepted():
    assert streams.parse_stream(json.dumps({"stream": {"url": "wss://media.example.com/ws"}}))["url"]


def test_a_name_that_resolves_inside_is_refused_when_connecting(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket, "getaddrinfo",
        lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        if host == "media.example.net" else real(host, *a, **k),
    )
    stream = streams.parse_stream(json.dumps({"stream": {"url": f"ws://media.example.net:{port}/ws"}}))
    engine = object.__new__(sandbox_media._Engine)  # its connect step alone, without its threads
    engine.loop = asyncio.new_event_loop()
    try:
        with pytest.raises(urlguard.UnsafeURL):
            engine.loop.run_until_complete(engine._connect(sandbox_media._Stream(1, "call", stream)))
    finally:
        engine.loop.close()
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever connected
    listener.close()
