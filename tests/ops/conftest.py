"""Fixtures for the operations tests: journeys with something to find and tell, a real SMTP
server, the `gapwatch` command as a process, and a database whose schema is behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gapwatch import db
from tests.alerts.conftest import SmtpServer

GAPWATCH = str(Path(sys.executable).with_name("gapwatch"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def environment(database_url: str, **more) -> dict:
    """The environment of a gapwatch process on `database_url`, with `more` GAPWATCH_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPWATCH_")}
    env.update({"GAPWATCH_DATABASE_URL": database_url, "GAPWATCH_SECRET_KEY": "test"})
    env.update({f"GAPWATCH_{k}": str(v) for k, v in more.items()})
    return env


def gapwatch(database_url: str, *args: str, cwd, timeout: float = 120, **more):
    """Run `gapwatch ARGS` as a process; return (exit status, stdout, stderr).

    Its audit key and checkpoints are the test's own (in `cwd`): the defaults are in the
    project's instance/, which other tests' processes share.
    """
    more.setdefault("AUDIT_KEY_FILE", os.path.join(cwd, "audit_signing_key.pem"))
    more.setdefault("CHECKPOINT_DIR", os.path.join(cwd, "checkpoints"))
    done = subprocess.run([GAPWATCH, *args], cwd=cwd, env=environment(database_url, **more),
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def mail(server: SmtpServer) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "SMTP_TIMEOUT": 5,
            "MAIL_FROM": "gapwatch@alerts.example"}


@pytest.fixture
def behind_url(backend, tmp_path, request):
    """A database migrated only to 0002: its schema is behind the code's."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'behind.sqlite'}"
        db.upgrade(url, "0002")
        yield url
        return
    yield from fresh_pg_database("behind", lambda url: db.upgrade(url, "0002"))


def fresh_pg_database(purpose: str, prepare=None):
    """Yield the URL of a new, empty PostgreSQL database, dropped afterwards."""
    base = os.environ.get("GAPWATCH_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL half skipped: GAPWATCH_TEST_DATABASE_URL is not set")
    name = f"gapwatch_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    if prepare is not None:
        prepare(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def unreachable_url(backend, tmp_path) -> str:
    """A database URL that does not answer: no server on the port, or a directory for a file."""
    if backend == "sqlite":
        (tmp_path / "not-a-file.sqlite").mkdir()
        return f"sqlite:///{tmp_path / 'not-a-file.sqlite'}"
    return "postgresql+psycopg://root@127.0.0.1:1/gapwatch"
