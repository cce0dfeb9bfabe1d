"""Redis stops while browsers are connected: HTTP keeps working, the console says it is
reconnecting, and it catches up once Redis is back."""

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import needs
from tests.faults.conftest import free_port, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


class ThrowawayRedis:
    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 10, "redis-server did not start")

    def _answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_the_console_rides_out_a_redis_outage(app, workdir):
    needs(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    needs(bool(shutil.which("redis-server")), "redis-server")
    from playwright.sync_api import sync_playwright

    redis_server = ThrowawayRedis(workdir)
    redis_server.start()
    app.env.update({
        "REDIS_URL": f"redis://127.0.0.1:{redis_server.port}/0",
        "SANDBOX_RING_SECONDS": "1",
        "SANDBOX_TALK_SECONDS": "60",
    })
    demo = json.loads(app.manage("demo", "--json"))
    app.start("web", "serve", "--port", str(app.port))
    wait_until(app._answers, 30, "the server did not start")
    api = {"X-API-Key": demo["api_key"]}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # The test's own probes are evaluated JavaScript, which the page's CSP forbids.
            page = browser.new_page(bypass_csp=True)
            page.goto(f"{app.base_url}/console/")
            page.fill("input[name=username]", demo["agent_username"])
            page.fill("input[name=password]", demo["agent_password"])
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-socket=open]")

            redis_server.kill()
            page.wait_for_selector("#connection:not([hidden])", timeout=20000)
            assert "reconnecting" in page.text_content("#connection")

            # HTTP keeps working without Redis: reads, and a call started for this agent.
            assert requests.get(f"{app.base_url}/superfone/sfvopi/calls", headers=api, timeout=10).status_code == 200
            started = requests.get(
                f"{app.base_url}/superfone/api/customer/click-2-call",
                params={"customer_number": "+918000000101", "user_number": demo["agent_number"]},
                headers=api,
                timeout=10,
            )
            assert started.status_code == 200, started.text
            assert started.json()["data"]["sentSuccess"] is False
            assert page.text_content("#status").strip() == "Idle"

            redis_server.start()
            page.wait_for_selector("body[data-socket=open]", timeout=45000)
            assert page.is_hidden("#connection")
            # Re-synced from the REST API: the call placed during the outage is on screen.
            page.wait_for_function(
                "document.getElementById('status').textContent.trim() !== 'Idle'", timeout=15000
            )
            assert page.text_content("#status").strip() in ("Ringing", "In progress", "Answered", "Queued")
            browser.close()
    finally:
        app.stop_all()
        if redis_server.process and redis_server.process.poll() is None:
            redis_server.kill()
