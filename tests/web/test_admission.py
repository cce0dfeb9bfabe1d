"""REQUEST_CONCURRENCY: requests past a web process's bound wait in line, then get 503 in their API's envelope."""

import asyncio
import json

import pytest

from callcenter.admission import ConcurrencyLimit

API = ("/superfone/", "/api/v1/", "/webhooks/")


class SlowApp:
    """An ASGI app that holds each request until released, counting how many are inside."""

    def __init__(self):
        self.inside = 0
        self.most = 0
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send):
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            if scope["type"] == "http" and scope["path"].startswith(API):
                await self.release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


async def request(app, path, scope_type="http"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    # Bounded, so a limiter that lets everything in fails here instead of hanging.
    await asyncio.wait_for(app({"type": scope_type, "path": path, "method": "POST", "headers": []}, receive, send), 5)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.asyncio
async def test_requests_past_the_bound_wait_then_get_503_with_retry_after_in_their_envelope():
    inner = SlowApp()
    app = ConcurrencyLimit(inner, limit=2, queue_timeout=0.2, prefixes=API)
    held = [asyncio.create_task(request(app, "/superfone/sfvopi/calls")) for _ in range(2)]
    await asyncio.sleep(0.05)

    sfvopi = await request(app, "/superfone/sfvopi/calls")
    v1 = await request(app, "/api/v1/calls/")

    assert sfvopi[0] == 503 and sfvopi[1]["retry-after"] == "1"
    assert json.loads(sfvopi[2]) == {"message": "Service busy, retry shortly"}
    assert v1[0] == 503 and v1[1]["retry-after"] == "1"
    assert json.loads(v1[2])["error"]["code"] == "service_unavailable"
    assert inner.most == 2, "a refused request reached the app"
    inner.release.set()
    assert [status for status, _, _ in await asyncio.gather(*held)] == [200, 200]


@pytest.mark.asyncio
async def test_a_waiting_request_goes_in_when_a_slot_frees_up():
    inner = SlowApp()
    app = ConcurrencyLimit(inner, limit=1, queue_timeout=2, prefixes=API)
    first = asyncio.create_task(request(app, "/superfone/sfvopi/calls"))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(request(app, "/superfone/sfvopi/calls"))
    await asyncio.sleep(0.05)
    assert inner.inside == 1
    inner.release.set()

    assert [(await first)[0], (await second)[0]] == [200, 200]
    assert inner.most == 1


@pytest.mark.asyncio
async def test_pages_and_static_files_are_not_counted():
    inner = SlowApp()
    app = ConcurrencyLimit(inner, limit=1, queue_timeout=0.1, prefixes=API)
    held = asyncio.create_task(request(app, "/superfone/sfvopi/calls"))
    await asyncio.sleep(0.05)

    # While the one slot is taken:
    static = await request(app, "/static/console.js")
    page = await request(app, "/floor/reports/")

    assert static[0] == 200 and page[0] == 200
    inner.release.set()
    await held
