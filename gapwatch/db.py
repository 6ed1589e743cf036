"""Engines, sessions and the schema: one session per request, migrations through Alembic."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"

# Set while a write transaction begins: SQLite then takes its write lock at BEGIN, so two
# writers queue on the busy timeout instead of failing when one upgrades a stale snapshot.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)
# How long that writer waits for the lock, in seconds (None: SQLite's busy timeout).
_write_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar("write_wait",
                                                                          default=None)
BUSY_TIMEOUT_MS = 30000


class WritersBusy(Exception):
    """The writers' lock was not free within the wait: answered 503 with Retry-After."""

    def __init__(self, wait: float):
        super().__init__(f"another change (the daily scan or an import) held the writers' lock "
                         f"for more than {wait:g} s; nothing was saved")
        self.wait = wait


# What a database that is down, restarting or unreachable raises: answered 503, not 500.
OUTAGE = (OperationalError, InterfaceError, PoolTimeout)


def is_outage(error: BaseException) -> bool:
    """Tell whether `error` means the database is unreachable rather than a fault of ours."""
    if isinstance(error, OUTAGE):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def outage_line(error: BaseException) -> str:
    """Say what the database answered in one line, without the SQL or its parameters."""
    origin = getattr(error, "orig", None) or error
    first = str(origin).strip().splitlines()
    return f"{type(origin).__name__}: {first[0] if first else 'no message'}"


def is_sqlite(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL, a busy timeout and explicit BEGINs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not _write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        wait = _write_wait.get()
        if wait is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    return engine


@contextmanager
def read_snapshot(session) -> Iterator[None]:
    """Read in one snapshot of what is committed, taking no lock: REPEATABLE READ on
    PostgreSQL, a read transaction (WAL) on SQLite. Rolled back at the end: it writes nothing."""
    session.rollback()
    if not is_sqlite(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        yield
    finally:
        session.rollback()


@contextmanager
def write_intent(wait: float | None = None) -> Iterator[None]:
    """Mark the transactions begun inside this block as writers, each waiting at most `wait`
    seconds for SQLite's lock (None: its busy timeout); `WritersBusy` past that."""
    token, waiting = _write_intent.set(True), _write_wait.set(wait)
    try:
        with _bounded(wait):
            yield
    finally:
        _write_intent.reset(token)
        _write_wait.reset(waiting)


def advisory_lock(session: Session, key: int, *, wait: float | None = None) -> None:
    """Take PostgreSQL's advisory lock `key` until the transaction ends, waiting at most `wait`
    seconds (None: as long as it takes), else `WritersBusy` (SQLite: nothing to take, its
    writer already holds the database's one lock from BEGIN IMMEDIATE)."""
    if is_sqlite(session):
        return
    if wait is None:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return
    session.execute(text(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}"))
    with _bounded(wait):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    session.execute(text("SET LOCAL lock_timeout = DEFAULT"))


@contextmanager
def _bounded(wait: float | None) -> Iterator[None]:
    try:
        yield
    except OperationalError as error:
        if wait is not None and _waited_too_long(error):
            raise WritersBusy(wait) from error
        raise


def _waited_too_long(error: OperationalError) -> bool:
    origin = error.orig
    return (getattr(origin, "sqlstate", None) == "55P03"  # PostgreSQL: lock_not_available
            or "database is locked" in str(origin))


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def analyze(session: Session, *tables: str) -> None:
    """Refresh the planner's statistics of `tables` (every table without), after a bulk change.

    Without it, queries right after a bulk load are planned for the tables as they were: the
    daily scan's read of linked persons took 285 ms a chunk instead of 14 on proposals that
    PostgreSQL still thought were 59 (autovacuum refreshes them too, within minutes)."""
    if is_sqlite(session) and tables:  # SQLite analyses one table a statement
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))
    else:
        session.execute(text(f"ANALYZE {', '.join(tables)}"))
    session.commit()


def vacuum(session: Session) -> None:
    """After a bulk load: on PostgreSQL, `VACUUM (ANALYZE)` every table, which also marks the
    loaded pages all-visible, so counts over an index (the dashboard's) read the index alone
    instead of every row's page until autovacuum's first visit; on SQLite, `ANALYZE`."""
    if is_sqlite(session):
        analyze(session)
        return
    session.commit()
    with session.get_bind().connect() as connection:  # VACUUM runs outside a transaction
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (ANALYZE)")


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the schema of the database at `url`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def get_engine(app: Flask | None = None) -> Engine:
    app = app or current_app
    engine = app.extensions.get("gapwatch.engine")
    if engine is None:
        engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False))
        app.extensions["gapwatch.engine"] = engine
    return engine


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db" not in g:
        g.db = new_session(get_engine())
    return g.db


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_session)
