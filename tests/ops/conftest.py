"""Operations tests: probes, metrics, logs, shutdown, retention and the cluster. Process
tests reuse the fault tests' throwaway servers and app runner."""

import re

import requests

from tests.faults.conftest import app, app_database, throwaway_postgres, workdir  # noqa: F401  (fixtures)


def login(base_url, username, password):
    """A browser's session on a running server: the login form, CSRF token and all."""
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = session.post(f"{base_url}/accounts/login/", timeout=10, allow_redirects=False,
                        data={"username": username, "password": password, "csrfmiddlewaretoken": token})
    assert done.status_code == 302, done.text[:500]
    return session
