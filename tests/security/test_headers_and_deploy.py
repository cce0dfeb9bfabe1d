"""A Content-Security-Policy on the pages people use, and production settings that pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _policy(response):
    return dict(
        (part.split(" ", 1) + [""])[:2] for part in (p.strip() for p in response["Content-Security-Policy"].split(";"))
    )


@pytest.mark.parametrize("path", ["/console/", "/wallboard/", "/admin/", "/accounts/login/"])
def test_pages_carry_a_content_security_policy(path, agent, supervisor):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 12)
    user = {"/console/": agent.user, "/wallboard/": supervisor, "/admin/": root}.get(path)
    client = Client()
    if user is not None:
        client.force_login(user)

    response = client.get(path)

    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


def _check_deploy(**overrides):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(DEBUG="false", ALLOWED_HOSTS="cc.example.com", **overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _check_deploy(PRODUCTION="true", SECRET_KEY="k" * 10 + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_them():
    result = _check_deploy()

    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stdout + result.stderr


def test_production_refuses_the_default_secret_key():
    result = _check_deploy(PRODUCTION="true")

    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
