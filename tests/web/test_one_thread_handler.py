"""Under ASGI an API request runs its whole middleware chain and view in one thread; pages keep the async chain."""

import asyncio
import json
import threading
from unittest import mock

import pytest
from asgiref import sync

from callcenter.handlers import ApiInOneThreadHandler


async def serve(handler, path, method="POST", body=b"{}", headers=()):
    sent = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected until the handler is done

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    with mock.patch.object(sync.AsyncToSync, "__call__", autospec=True, side_effect=sync.AsyncToSync.__call__) as back:
        await handler(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body, back.call_count


@pytest.mark.asyncio
async def test_an_api_request_never_comes_back_to_the_event_loop_and_keeps_every_middleware():
    status, headers, body, returns_to_loop = await serve(ApiInOneThreadHandler(), "/superfone/sfvopi/calls")

    assert status == 401
    assert json.loads(body) == {"message": "UnAuthorized, Please Provide API Key"}
    # What the chain's middleware add: security headers, the CSP, clickjacking protection.
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    # JSON is never a document: its policy allows nothing (pages keep theirs, below).
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert returns_to_loop == 0


@pytest.mark.asyncio
async def test_a_page_keeps_the_async_chain():
    status, headers, _, returns_to_loop = await serve(ApiInOneThreadHandler(), "/accounts/login/", method="GET")

    assert status == 200
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]
    assert returns_to_loop >= 1  # from the sync middleware back to the async ones


@pytest.mark.asyncio
async def test_api_requests_reuse_a_long_lived_thread_instead_of_starting_one_each():
    handler = ApiInOneThreadHandler()
    threads = []
    respond = handler._respond

    def recording(*args):
        threads.append(threading.current_thread())
        return respond(*args)

    handler._respond = recording
    for _ in range(3):
        assert (await serve(handler, "/superfone/sfvopi/calls"))[0] == 401
        # The pool marks its thread idle just after handing back the answer: let it.
        await asyncio.sleep(0.05)

    assert len(set(threads)) == 1 and threads[0].name.startswith("api-request")
