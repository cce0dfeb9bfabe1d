"""Screenshots of the admin call list and a call's page as a supervisor sees them.

Serves the app on a free port with a throwaway SQLite database and a local webhook
receiver, places a few sandbox calls through the SFVoPI API, lets the simulated network
run them, then signs in as the demo supervisor in headless Chromium and saves
docs/admin-calls.png and docs/admin-call-detail.png.

    python .ci/admin_screenshots.py
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url):
    for _ in range(100):
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def main():
    workdir = tempfile.mkdtemp()
    receiver_port, app_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite3",
        "ALLOW_PRIVATE_WEBHOOK_URLS": "1",
        "SANDBOX_RING_SECONDS": "1",
        "SANDBOX_TALK_SECONDS": "3",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    demo = json.loads(subprocess.run([*manage, "demo", "--json"], env=env, check=True, capture_output=True).stdout)
    servers = [
        subprocess.Popen([*manage, "webhook_receiver", "--port", str(receiver_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([*manage, "serve", "--port", str(app_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    base = f"http://127.0.0.1:{app_port}"
    receiver = f"http://127.0.0.1:{receiver_port}"
    try:
        wait_until_up(f"{base}/api/schema/")
        wait_until_up(receiver)
        session = requests.Session()
        session.headers["X-API-Key"] = demo["api_key"]
        placed = []
        # Sandbox outcomes follow the number dialled (see calls/carriers/sandbox.py).
        for to in ["+919812345601", "+919812345605", "+919812345607", "+919812345608", "+919812345612",
                   "+919812345618"]:
            response = session.post(f"{base}/api/v1/calls", timeout=10, json={
                "from": demo["from_number"], "to": to, "answer_url": f"{receiver}/answer",
                "ring_url": f"{receiver}/ring", "hangup_url": f"{receiver}/hangup",
            })
            response.raise_for_status()
            placed.append(response.json()["request_uuid"])
            time.sleep(0.7)
        time.sleep(2)
        session.post(f"{base}/api/v1/calls/{placed[-1]}/hangup", timeout=10)
        time.sleep(4)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1760, "height": 900})
            page.goto(f"{base}/admin/login/?next=/admin/calls/call/")
            page.fill("#id_username", demo["supervisor_username"])
            page.fill("#id_password", demo["supervisor_password"])
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/calls/call/")
            page.screenshot(path=str(ROOT / "docs" / "admin-calls.png"), full_page=True)
            page.goto(f"{base}/admin/calls/call/?q={placed[0]}")
            page.click(f"text={placed[0]}")
            page.wait_for_selector("text=Events")
            page.screenshot(path=str(ROOT / "docs" / "admin-call-detail.png"), full_page=True)
            browser.close()
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
