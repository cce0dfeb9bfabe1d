"""A recorded sandbox call end to end, in headless Chromium against `manage.py serve`:
the WAV is stored, the admin's call page plays it with the right duration, another
organization gets 404, and the recording_ready webhook is signed."""

import io
import json
import sqlite3
import time
import urllib.request
import wave

import pytest
from standardwebhooks.webhooks import Webhook

from tests.agents.test_console_browser import Server, browser  # noqa: F401  (fixture)
from tests.conftest import needs

pytestmark = [pytest.mark.browser, pytest.mark.own_database("sqlite")]

TALK_SECONDS = 2.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.agents.test_console_browser import CHROMIUM, Path

    needs(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium) for the browser tests")
    folder = tmp_path_factory.mktemp("recording-browser")
    server = Server(folder)
    server.env.update({"MEDIA_ROOT": str(folder / "media"), "SANDBOX_TALK_SECONDS": str(TALK_SECONDS),
                       "SANDBOX_RING_SECONDS": "0.5", "ALLOW_PRIVATE_WEBHOOK_URLS": "1",
                       "PUBLIC_BASE_URL": server.base_url})
    server.database = folder / "console.sqlite3"
    server.media = folder / "media"
    server.demo = json.loads(server.manage("demo", "--json"))
    server.other = json.loads(server.manage("demo", "--json", "--org", "Other"))
    server.start()
    yield server
    server.stop()


def api(server, method, path, body=None):
    request = urllib.request.Request(
        f"{server.base_url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"X-API-Key": server.demo["api_key"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def admin_page(browser, server, who):  # noqa: F811
    page = browser.new_page()
    page.goto(f"{server.base_url}/admin/login/")
    page.fill("input[name=username]", who["supervisor_username"])
    page.fill("input[name=password]", who["supervisor_password"])
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


def test_a_recorded_sandbox_call_from_api_to_admin_player(served, browser, webhook_server):  # noqa: F811
    queued = api(served, "POST", "/superfone/sfvopi/calls", {
        "from": served.demo["from_number"], "to": "+918000000001", "record": True,
        "answer_url": webhook_server.url("/answer"), "hangup_url": webhook_server.url("/hangup")})
    request_uuid = queued["data"]["request_uuid"]

    deadline = time.monotonic() + 40
    ready = []
    while time.monotonic() < deadline and not ready:
        ready = [r for r in webhook_server.received if r.path == "/hangup" and r.body.get("event") == "recording_ready"]
        time.sleep(0.2)
    assert ready, [r.body for r in webhook_server.received]

    # The webhook is signed with the app's secret.
    secret = api(served, "GET", f"/superfone/sfvopi/apps/{served.demo['app_id']}/webhook-secret")["data"]["webhook_secret"]
    headers = {name.lower(): value for name, value in ready[0].headers.items()}
    body = Webhook(secret).verify(ready[0].raw, headers)
    recording_id = body["recording_id"]
    assert body["request_uuid"] == request_uuid and body["format"] == "wav"

    # A real WAV under MEDIA_ROOT, as long as the talk.
    with sqlite3.connect(served.database) as db:
        call_pk, answered, ended = db.execute(
            "select id, answered_at, ended_at from calls_call where request_uuid = ?", (request_uuid,)).fetchone()
        [name] = db.execute("select file from calls_recording where id = ?", (recording_id,)).fetchone()
    stored = (served.media / "recordings" / name).read_bytes()
    with wave.open(io.BytesIO(stored)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert TALK_SECONDS - 0.05 <= seconds <= TALK_SECONDS + 2
    assert abs(body["duration"] - seconds) < 0.01

    # The supervisor's admin page: the audio element loads and knows its duration.
    page = admin_page(browser, served, served.demo)
    page.goto(f"{served.base_url}/admin/calls/call/{call_pk}/change/")
    # Polled from here: the page's CSP (no 'unsafe-eval') refuses wait_for_function's predicate.
    loaded = time.monotonic() + 15
    while not page.evaluate("!!document.querySelector('audio') && document.querySelector('audio').readyState >= 1"):
        assert time.monotonic() < loaded, page.evaluate("document.querySelector('audio').outerHTML")
        time.sleep(0.1)
    duration = page.evaluate("document.querySelector('audio').duration")
    assert abs(duration - seconds) < 0.05
    assert page.evaluate("document.querySelector('audio').error") is None
    download = page.request.get(f"{served.base_url}/api/v1/recordings/{recording_id}/audio?download=true")
    assert download.status == 200 and download.body() == stored
    assert download.headers["content-disposition"].startswith("attachment")
    page.close()

    # Another organization's supervisor gets 404 for the same audio.
    other = admin_page(browser, served, served.other)
    refused = other.request.get(f"{served.base_url}/api/v1/recordings/{recording_id}/audio")
    assert refused.status == 404
    assert other.goto(f"{served.base_url}/admin/calls/call/{call_pk}/change/").url.endswith("/admin/")
    other.close()
