"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL.

Every test that asks for `database_url` (or anything built on it: `engine`, `session`, `app`)
runs twice, once on a real SQLite file and once on a real PostgreSQL database. PostgreSQL comes
from GAPWATCH_TEST_DATABASE_URL; where it is unset the PostgreSQL half is skipped with that
reason, except under CI (CI=true), where a missing PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from gapwatch import clock, create_app, db
from gapwatch.demo import apply_all, region
from gapwatch.demo.journeys import curated_records
from gapwatch.operations import users as user_operations
from tests import support

PG_URL = os.environ.get("GAPWATCH_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionstart(session):
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI must run the PostgreSQL half: set GAPWATCH_TEST_DATABASE_URL"
        )


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """Hash new passwords with scrypt at a cost of 2**10, not 2**15: the deliberate 0.1 s a
    hash was a fifth of a web test. `full_cost_hashes` puts the real cost back."""
    monkeypatch.setattr(user_operations, "HASHING", "scrypt:1024:8:1")


@pytest.fixture
def full_cost_hashes(monkeypatch):
    """Passwords hashed as in production (ask for it before any fixture that adds users); the
    unknown account's hash too, made afresh at that cost and forgotten after."""
    monkeypatch.setattr(user_operations, "HASHING", "scrypt")
    user_operations._dummy_hash.cache_clear()
    yield
    user_operations._dummy_hash.cache_clear()


class CompiledTemplates(BytecodeCache):
    """Each template compiled once per test process, not once per test's app: jinja's own
    cache is per app, and compiling the templates again was a third of a page test."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:  # jinja checks the source's checksum as it loads it
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file that each test copies: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "gapwatch.sqlite"
    db.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_database(worker_id):
    """A PostgreSQL database of this test worker's own, created fresh and migrated once."""
    if not PG_URL:
        pytest.skip("PostgreSQL half skipped: GAPWATCH_TEST_DATABASE_URL is not set")
    base = make_url(PG_URL)
    # Unique per test run and worker, so runs side by side never drop each other's database.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:10]
    name = f"gapwatch_test_{run}_{worker_id}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    db.upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty(url: str) -> None:
    """Delete every row and restart every sequence of the PostgreSQL database at `url`.

    DELETE rather than TRUNCATE: truncating gives each of the twenty tables a new file, 0.2 s a
    test, where deleting the few rows a test wrote takes 0.03 s (a minute of the suite). The
    replica role keeps the audit trail's append-only trigger and the foreign-key checks out of
    this one transaction.
    """
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))
        for (sequence,) in connection.execute(text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")):
            connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    """The URL of an empty, migrated database, new for this test."""
    if backend == "sqlite":
        path = tmp_path / "gapwatch.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _empty(url)
    return url


@pytest.fixture
def engine(database_url):
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    session = db.new_session(engine)
    yield session
    session.close()


@pytest.fixture
def demo(session):
    """The curated West Midlands demo, loaded as of today (not yet scanned)."""
    def build():
        today = clock.today()
        apply_all(session, [*region.agency_records(), *region.contract_records(today)])
        apply_all(session, curated_records(today))

    support.built_once(session, "demo", build)
    return session


@pytest.fixture
def journeys(session):
    """Two cases with an overdue referral to WMIDS, so every scan from June on flags them
    (the scheduler's and the operations' tests)."""
    def build():
        support.region(session)
        for reference in ("C-1", "C-2"):
            support.person_and_case(session, reference,
                                    expected_release_on=support.D("2026-06-10"))
            support.load(
                session,
                support.event(reference, "2026-01-10", "ownership_started",
                              agency="HMP-HEWELL", role="custody", officer="A. Officer"),
                support.event(reference, "2026-05-01", "handoff_requested",
                              from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision",
                              kind="referral", due_on="2026-06-10"))

    support.built_once(session, "journeys", build)
    return session


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "BASE_URL": "http://gapwatch.test",
        "AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit_signing_key.pem"),
        "CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    })
    app.instance_path = str(tmp_path / "instance")
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    yield app
    engine = app.extensions.get("gapwatch.engine")
    if engine is not None:
        engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()



# -- compiled statements, once per test process -----------------------------------------------------
# SQLAlchemy keeps the SQL it compiles in a cache of each engine's own, keyed by its dialect. A
# server process has one engine and compiles each statement once; the suite makes an engine per
# test (the fixture's, the app's), so every test compiled every statement it ran afresh: a
# quarter of a page test. Each engine made in a test process now compiles with the first
# engine's dialect of its database's kind, once that one has connected (and so has read the
# server's version), and keeps what it compiles in that engine's cache. Each engine keeps its
# own pool and connections.
_make_engine = db.make_engine
_COMPILING: dict[str, tuple] = {}  # dialect name -> (dialect, compiled cache)
_FIRST: dict[str, object] = {}  # dialect name -> an engine whose dialect may not yet be ready


def _engine_sharing_compiled_statements(url, **kw):
    engine = _make_engine(url, **kw)
    name = engine.dialect.name
    if name not in _COMPILING:
        first = _FIRST.get(name)
        if first is None or first.dialect.server_version_info is None:
            _FIRST[name] = engine
            return engine
        _COMPILING[name] = (first.dialect, first._compiled_cache)
        del _FIRST[name]
    engine.dialect, engine._compiled_cache = _COMPILING[name]
    return engine


db.make_engine = _engine_sharing_compiled_statements
