"""A client generated from docs/openapi.yaml with openapi-python-client works against a
served instance, running the README's "Use from a CRM" code exactly as written."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.crm.conftest import ROOT, readme_block

pytestmark = pytest.mark.own_database("sqlite")  # the served instance's (tests/crm/conftest.py)

GENERATOR = shutil.which("openapi-python-client") or str(Path(sys.executable).with_name("openapi-python-client"))


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    """Generates the client in a scratch directory; any generator warning fails the test."""
    if not Path(GENERATOR).exists():
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            GENERATOR, "generate",
            "--path", str(ROOT / "docs" / "openapi.yaml"),
            "--config", str(ROOT / "docs" / "openapi-client.yaml"),
            "--meta", "none",
        ],
        cwd=out, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    assert (out / "callcenter_client" / "api" / "calls" / "calls_create.py").exists(), output
    return out


def run_readme_code(generated_client, served, tmp_path):
    script = tmp_path / "use_from_a_crm.py"
    script.write_text(readme_block("### Use from a CRM", "python"))
    env = {
        **served.env,
        "PYTHONPATH": str(generated_client),
        "CALLCENTER_URL": served.base_url,
        "API_KEY": served.api_key,
        "FROM_NUMBER": served.from_number,
    }
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_the_readme_code_runs_against_a_served_instance(generated_client, served, tmp_path):
    before = requests.get(f"{served.base_url}/api/v1/calls", headers={"X-API-Key": served.api_key}).json()

    printed = run_readme_code(generated_client, served, tmp_path)

    request_uuid = printed["created"].split()[1]
    assert printed["created"] == f"201 {request_uuid} queued"
    assert printed["replayed"] == "true True"
    assert printed["listed"] == f"{len(before['results']) + 1} True"
    assert printed["read"].split()[0] in ("queued", "ringing")
    assert printed["ended"] == "canceled"
    assert printed["error"] == "call_not_found Call not found"
    # The replay placed no second call, and the server agrees the call was hung up.
    after = requests.get(f"{served.base_url}/api/v1/calls", headers={"X-API-Key": served.api_key}).json()
    assert [row["request_uuid"] for row in after["results"]].count(request_uuid) == 1
    assert len(after["results"]) == len(before["results"]) + 1
    call = requests.get(f"{served.base_url}/api/v1/calls/{request_uuid}", headers={"X-API-Key": served.api_key})
    assert call.json()["status"] == "canceled"


def test_the_default_bearer_client_is_refused_as_the_readme_warns(generated_client, served, tmp_path):
    script = tmp_path / "bearer.py"
    script.write_text(
        "import os\n"
        "from callcenter_client import AuthenticatedClient\n"
        "from callcenter_client.api.calls import calls_list\n"
        "client = AuthenticatedClient(base_url=os.environ['CALLCENTER_URL'], token=os.environ['API_KEY'])\n"
        "response = calls_list.sync_detailed(client=client)\n"
        "print(response.status_code, response.parsed.error.code)\n"
    )
    env = {**served.env, "PYTHONPATH": str(generated_client), "CALLCENTER_URL": served.base_url,
           "API_KEY": served.api_key}
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)

    assert result.stdout.split() == ["401", "not_authenticated"], result.stdout + result.stderr
