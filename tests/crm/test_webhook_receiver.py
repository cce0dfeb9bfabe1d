"""manage.py webhook_receiver against a served instance: it shows each webhook with its
headers and raw body, verifies signatures, and its Stream JSON leads the sandbox's audio
stream to a local WebSocket rather than an outside host."""

import json
import queue
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.crm.conftest import ROOT, free_port

pytestmark = pytest.mark.own_database("sqlite")  # the served instance's (tests/crm/conftest.py)


@pytest.fixture
def receiver(served):
    """The receiver, started with the demo app's webhook secret; yields a reader of its JSON lines."""
    secret = requests.get(
        f"{served.base_url}/superfone/sfvopi/apps/{served.app_id}/webhook-secret",
        headers={"X-API-Key": served.api_key},
    ).json()["data"]["webhook_secret"]
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "webhook_receiver", "--port", str(port), "--stream-port", str(free_port()),
         "--secret", secret],
        cwd=ROOT, env=served.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in process.stdout], daemon=True).start()
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/up", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.1)
    assert lines.get(timeout=5)["path"] == "/up"

    def read_until(*predicates, timeout=30):
        """Lines printed until each predicate has matched one of them."""
        seen = []
        end = time.monotonic() + timeout
        while not all(any(predicate(line) for line in seen) for predicate in predicates):
            try:
                seen.append(lines.get(timeout=max(end - time.monotonic(), 0.01)))
            except queue.Empty:
                raise AssertionError(f"not seen; the receiver printed {seen}") from None
        return seen

    yield f"http://127.0.0.1:{port}", read_until
    process.terminate()
    process.wait(timeout=10)


def test_it_shows_and_verifies_each_webhook_and_serves_the_stream(served, receiver):
    url, read_until = receiver
    created = requests.post(
        f"{served.base_url}/superfone/sfvopi/calls",
        headers={"X-API-Key": served.api_key},
        json={
            "from": served.from_number,
            "to": "+918000000001",
            "ring_url": f"{url}/ring",
            "answer_url": f"{url}/answer",
            "hangup_url": f"{url}/hangup",
        },
    )
    assert created.status_code == 200, created.text

    lines = read_until(lambda line: line.get("stream") == "end", lambda line: line.get("path") == "/hangup")

    webhooks = {line["path"]: line for line in lines if "path" in line}
    assert list(webhooks) == ["/ring", "/answer", "/hangup"]
    for line in webhooks.values():
        assert line["method"] == "POST"
        assert line["signature"] == "verified"
        headers = {name.lower(): value for name, value in line["headers"].items()}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)
        assert json.loads(line["raw_body"]) == line["body"]
    assert webhooks["/hangup"]["body"]["call_status"] == "COMPLETED"
    start = next(line for line in lines if line.get("stream") == "start")
    assert start["callId"] == webhooks["/answer"]["body"]["call_uuid"]
    assert next(line for line in lines if line.get("stream") == "end")["media_frames"] > 0


def test_it_says_when_a_signature_does_not_verify(receiver):
    url, read_until = receiver

    requests.post(f"{url}/hangup", data=b'{"call_status":"COMPLETED"}',
                  headers={"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time())),
                           "webhook-signature": "v1,Zm9yZ2Vk"})

    [line] = read_until(lambda line: line.get("path") == "/hangup")
    assert line["signature"].startswith("INVALID")
    assert line["raw_body"] == '{"call_status":"COMPLETED"}'
