"""Migrated databases for the app processes tests start. Running every migration costs a
process start and several seconds; each kind of database is migrated once per test session
and copied from then on (a file copy for SQLite, CREATE DATABASE ... TEMPLATE for PostgreSQL)."""

import atexit
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
_lock = threading.Lock()
_sqlite_template: Path | None = None
_postgres_templates: dict[str, str] = {}  # server URL -> template database name


def _migrate(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr


def sqlite_database(path: Path | str) -> str:
    """A migrated SQLite database at `path`; returns its DATABASE_URL."""
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            folder = Path(tempfile.mkdtemp(prefix="callcenter-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            template = folder / "template.sqlite3"
            _migrate(f"sqlite:///{template}")
            _sqlite_template = template
    # The backup API copies a consistent database whatever the journal mode left beside it.
    with contextlib.closing(sqlite3.connect(_sqlite_template)) as source, \
            contextlib.closing(sqlite3.connect(path)) as target:
        source.backup(target)
    return f"sqlite:///{path}"


def postgres_database(server: str, name: str) -> str:
    """Create the migrated database `name` on the PostgreSQL server at `server` (a URL without
    a database); returns its DATABASE_URL."""
    with _lock:
        template = _postgres_templates.get(server)
        if template is None:
            template = f"callcenter_template_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{template}"')
            atexit.register(drop_postgres_database, server, template)
            _migrate(f"{server}/{template}")
            _postgres_templates[server] = template
    deadline = time.monotonic() + 10
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        while True:
            try:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except psycopg.errors.ObjectInUse:
                # The migrating process has exited; its backend may take a moment to go.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    return f"{server}/{name}"


def drop_postgres_database(server: str, name: str) -> None:
    """Drop `name` whoever is still connected; a server already gone leaves nothing to drop."""
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass
