"""The console in a real headless Chromium against `manage.py serve` (HTTP + WebSockets + worker).

The server runs in a subprocess on its own SQLite file, a migrated copy set up with `demo`.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import migrated
from tests.conftest import needs

pytestmark = [pytest.mark.browser, pytest.mark.own_database("sqlite")]

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# The README's picture is refreshed only on request, so a test run leaves the tree clean.
SCREENSHOT = BASE_DIR / "docs" / "console.png" if os.environ.get("UPDATE_SCREENSHOTS") else None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")},
            "DATABASE_URL": migrated.sqlite_database(tmp_path / "console.sqlite3"),
            "SANDBOX_RING_SECONDS": "1.5",
            "SANDBOX_TALK_SECONDS": "2",
        }
        self.process = None

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=BASE_DIR, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/accounts/login/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("manage.py serve did not come up within 30 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    needs(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium) for the browser tests")
    served = Server(tmp_path_factory.mktemp("browser"))
    served.demo = json.loads(served.manage("demo", "--json"))
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Records every status the page shows, so the test sees each one even if it is brief.
RECORD_STATUSES = """
window.seenStatuses = [];
window.notReloaded = true;
const status = document.getElementById("status");
new MutationObserver(() => {
  const text = status.textContent;
  if (window.seenStatuses.at(-1) !== text) window.seenStatuses.push(text);
}).observe(status, { childList: true, characterData: true, subtree: true });
"""


def log_in(browser, server, username, password, path):
    page = browser.new_page(viewport={"width": 1000, "height": 760})
    page.goto(f"{server.base_url}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    page.wait_for_selector("body[data-socket=open]")
    return page


def agent_console(browser, server):
    page = log_in(browser, server, server.demo["agent_username"], server.demo["agent_password"], "/console/")
    page.evaluate(RECORD_STATUSES)
    return page


def in_order(seen, expected):
    remaining = iter(seen)
    return all(any(text == wanted for text in remaining) for wanted in expected)


def test_it_runs_a_call_live_and_refuses_a_second_start(browser, server):
    from playwright.sync_api import expect

    page = agent_console(browser, server)
    wallboard = log_in(
        browser, server, server.demo["supervisor_username"], server.demo["supervisor_password"], "/wallboard/"
    )

    page.fill("#customer-number", "+918000000018")  # ends in 8: the customer stays on until we end it
    page.click("#start")

    expect(page.locator("#status")).to_have_text("In progress", timeout=15000)
    expect(page.locator("#start")).to_be_disabled()
    expect(page.locator("#end")).to_be_enabled()
    expect(page.locator("#timer")).not_to_have_text("00:00", timeout=5000)
    expect(wallboard.locator("#agents tr")).to_contain_text("On call")
    expect(wallboard.locator("#calls tr")).to_contain_text("+918000000018")
    if SCREENSHOT:
        page.screenshot(path=str(SCREENSHOT))

    # A stale tab (or a second device) can still press Start: the server refuses it.
    page.evaluate("document.getElementById('start').disabled = false")
    page.fill("#customer-number", "+918000000021")
    page.click("#start")
    expect(page.locator("#error")).to_have_text("Agent is already on a call; end it before starting another")

    page.click("#end")

    expect(page.locator("#status")).to_have_text("Ended: Completed", timeout=10000)
    expect(page.locator("#start")).to_be_enabled()
    expect(page.locator("#end")).to_be_disabled()
    expect(page.locator("#recent tr").first).to_contain_text("Completed")
    expect(wallboard.locator("#agents tr")).to_contain_text("Available")
    expect(wallboard.locator("#calls tr")).to_have_count(0)
    seen = page.evaluate("window.seenStatuses")
    assert in_order(seen, ["Ringing", "In progress", "Ended: Completed"]), seen
    assert page.evaluate("window.notReloaded")
    page.close()
    wallboard.close()


def test_it_shows_the_customer_hanging_up_and_invalid_numbers(browser, server):
    from playwright.sync_api import expect

    page = agent_console(browser, server)
    page.fill("#customer-number", "not a number")
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("Invalid number")

    page.fill("#customer-number", "+918000000031")  # answers, then hangs up after SANDBOX_TALK_SECONDS
    page.click("#start")

    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("Ended: Completed", timeout=20000)
    seen = page.evaluate("window.seenStatuses")
    assert in_order(seen, ["Ringing", "In progress", "Ended: Completed"]), seen
    assert page.evaluate("window.notReloaded")
    page.close()


def test_it_reconnects_and_catches_up_after_the_server_restarts(browser, server):
    from playwright.sync_api import expect

    page = agent_console(browser, server)
    server.stop()
    expect(page.locator("#connection")).to_have_text("reconnecting…", timeout=10000)

    # While this tab is cut off, the CRM starts a call for the agent.
    server.start()
    request = urllib.request.Request(
        f"{server.base_url}/superfone/api/customer/click-2-call?customer_number=%2B918000000048"
        f"&user_number={server.demo['agent_number'].replace('+', '%2B')}",
        headers={"X-API-Key": server.demo["api_key"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["message"] == "success"

    expect(page.locator("#connection")).to_be_hidden(timeout=40000)
    expect(page.locator("#current-number")).to_have_text("+918000000048", timeout=10000)
    expect(page.locator("#start")).to_be_disabled()
    expect(page.locator("#status")).to_have_text("In progress", timeout=15000)  # live again after the catch-up
    page.click("#end")
    expect(page.locator("#status")).to_have_text("Ended: Completed", timeout=10000)
    assert page.evaluate("window.notReloaded")
    page.close()
