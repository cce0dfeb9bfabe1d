"""A served copy of the app, as a CRM meets it: its own SQLite database, the demo
organization's API key, `manage.py serve` on a free port with the task worker inside."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests import migrated

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readme_block(heading, language):
    """The first ```language block under the README heading given (### or ##)."""
    text = README.read_text()
    section = text.split(f"{heading}\n", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    match = re.search(rf"```{language}\n(.*?)\n```", section, flags=re.DOTALL)
    assert match, f"no {language} block under {heading!r} in README.md"
    return match.group(1)


@dataclass
class Served:
    base_url: str
    api_key: str
    from_number: str
    app_id: str
    env: dict


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("served")
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DATABASE_URL": migrated.sqlite_database(workdir / "db.sqlite3"),
        "ALLOW_PRIVATE_WEBHOOK_URLS": "1",
        "SANDBOX_RING_SECONDS": "0.2",
        "SANDBOX_TALK_SECONDS": "0.5",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout

    demo = json.loads(manage("demo", "--json"))
    log = open(workdir / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base_url}/api/schema/", timeout=10)
            break
        # The first schema is built on demand: on a busy machine it can outlast a read timeout.
        except (requests.ConnectionError, requests.Timeout):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((workdir / "server.log").read_text()) from None
            time.sleep(0.2)
    try:
        yield Served(base_url, demo["api_key"], demo["from_number"], demo["app_id"], env)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
