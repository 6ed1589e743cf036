"""Is gapwatch itself working? The checks behind /readyz, /healthz/daily and `gapwatch doctor`.

Each check is a plain function of an engine (and the settings) that returns a `Check`: its name,
whether it passed, and one line for a person. No line names a person, a case or an address:
the health endpoints answer without signing in. Nothing here imports Flask.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from gapwatch import clock, db
from gapwatch.models import JobRun, OutboxMessage, SchedulerBeat

DAILY_JOB = "daily-scan"  # scheduler.DAILY; the scheduler sits above this module
DAILY_DEADLINE = "07:00"
HEARTBEAT_MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict:
        return asdict(self)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=clock.now().tzinfo)  # SQLite hands back naive UTC
    return moment


# -- the database and its schema ---------------------------------------------------------------
def database(engine: Engine) -> Check:
    """The database answers a query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return Check("database", False, f"the database does not answer ({db.outage_line(error)})")
    return Check("database", True, f"{engine.dialect.name} answers")


def expected_heads() -> set[str]:
    """Return the revisions the code's migrations end at."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_heads())


def schema(engine: Engine) -> Check:
    """The schema is at the latest migration."""
    from alembic.runtime.migration import MigrationContext

    wanted = expected_heads()
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return Check("schema", False, f"cannot read the schema's revision ({db.outage_line(error)})")
    if current == wanted:
        return Check("schema", True, f"at the latest migration ({', '.join(sorted(wanted))})")
    have = ", ".join(sorted(current)) or "no schema"
    return Check("schema", False, f"the schema is at {have}, the code expects "
                 f"{', '.join(sorted(wanted))}: run `gapwatch init`")


# -- the scheduler -----------------------------------------------------------------------------
def last_beat(engine: Engine) -> SchedulerBeat | None:
    with db.new_session(engine) as session:
        return session.execute(
            select(SchedulerBeat).order_by(SchedulerBeat.beat_at.desc()).limit(1)
        ).scalars().first()


def heartbeat(engine: Engine, config: Mapping, now: datetime | None = None) -> Check:
    """A scheduler process beat recently."""
    now = now or clock.now()
    limit = float(config.get("HEARTBEAT_MAX_AGE_SECONDS", HEARTBEAT_MAX_AGE_SECONDS))
    try:
        beat = last_beat(engine)
    except SQLAlchemyError as error:
        return Check("heartbeat", False, f"cannot read the heartbeat ({db.outage_line(error)})")
    if beat is None:
        return Check("heartbeat", False, "no scheduler has ever beaten: is `gapwatch scheduler` running?")
    age = (now - _aware(beat.beat_at)).total_seconds()
    if age > limit:
        return Check("heartbeat", False, f"the last scheduler heartbeat is {age:.0f}s old "
                     f"(limit {limit:.0f}s), from {beat.process}")
    return Check("heartbeat", True, f"{beat.process} beat {age:.0f}s ago")


def last_completed_scan(engine: Engine) -> JobRun | None:
    with db.new_session(engine) as session:
        return session.execute(
            select(JobRun).where(JobRun.job == DAILY_JOB, JobRun.status == "done")
            .order_by(JobRun.day.desc()).limit(1)
        ).scalars().first()


def deadline(config: Mapping) -> time:
    value = str(config.get("DAILY_DEADLINE", DAILY_DEADLINE))
    try:
        hour, minute = value.split(":")
        return time(int(hour), int(minute))
    except ValueError:
        raise ValueError(f"GAPWATCH_DAILY_DEADLINE is {value!r}; it must be HH:MM, "
                         "Europe/London") from None


def daily(engine: Engine, config: Mapping, now: datetime | None = None) -> Check:
    """Today's daily scan completed by the deadline, and its digests are sent or visibly failing."""
    now = (now or clock.now()).astimezone(clock.ZONE)
    try:
        day, due = now.date(), deadline(config)
    except ValueError as error:
        return Check("daily", False, str(error))
    if now.time() < due:
        return Check("daily", True, f"before today's deadline ({due:%H:%M} Europe/London)")
    try:
        with db.new_session(engine) as session:
            run = session.execute(
                select(JobRun).where(JobRun.job == DAILY_JOB, JobRun.day == day)
            ).scalars().first()
            waiting = session.execute(
                select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.day == day, OutboxMessage.status == "pending",
                    OutboxMessage.last_error.is_(None))
            ).scalar()
            failing = session.execute(
                select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.day == day, OutboxMessage.status == "pending",
                    OutboxMessage.last_error.is_not(None))
            ).scalar()
    except SQLAlchemyError as error:
        return Check("daily", False, f"cannot read today's run ({db.outage_line(error)})")
    if run is None or run.status != "done":
        state = ("never started" if run is None else
                 f"failed: {next(iter((run.error or '').splitlines()), '')[:200]}"
                 if run.status == "failed"
                 else f"{run.status} on {run.host}")
        return Check("daily", False, f"the daily scan of {day} has not completed by "
                     f"{due:%H:%M} Europe/London ({state})")
    if waiting:
        return Check("daily", False, f"{waiting} digest(s) of {day} not sent yet, "
                     f"{due:%H:%M} Europe/London passed")
    visible = f", {failing} failing (listed on /admin/outbox)" if failing else ""
    return Check("daily", True, f"the daily scan of {day} completed{visible}")


# -- mail and the outbox -----------------------------------------------------------------------
def outbox_state(session) -> tuple[dict[str, int], datetime | None]:
    """Count the outbox's messages (pending, failing: pending with an error, sent) and return
    when the oldest message not yet sent was written."""
    counts = {"pending": 0, "failing": 0, "sent": 0}
    for status, failing, count in session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error.is_not(None), func.count())
            .group_by(OutboxMessage.status, OutboxMessage.last_error.is_not(None))):
        key = "failing" if status == "pending" and failing else status
        counts[key] = counts.get(key, 0) + count
    oldest = session.execute(select(func.min(OutboxMessage.created_at))
                             .where(OutboxMessage.status == "pending")).scalar()
    return counts, _aware(oldest)


def outbox(engine: Engine) -> Check:
    """No message is failing."""
    try:
        with db.new_session(engine) as session:
            counts, _oldest = outbox_state(session)
    except SQLAlchemyError as error:
        return Check("outbox", False, f"cannot read the outbox ({db.outage_line(error)})")
    if counts["failing"]:
        return Check("outbox", False, f"{counts['failing']} message(s) failing: see /admin/outbox")
    return Check("outbox", True, f"no message failing ({counts['pending']} pending, "
                 f"{counts['sent']} sent)")


def mail_server(config: Mapping) -> Check:
    """The SMTP server of GAPWATCH_SMTP_* answers (connect, EHLO, STARTTLS where set)."""
    host, port = config.get("SMTP_HOST", "localhost"), int(config.get("SMTP_PORT", 25))
    timeout = float(config.get("DOCTOR_SMTP_TIMEOUT", 10))
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            smtp.noop()
    except (OSError, smtplib.SMTPException) as error:
        return Check("mail", False, f"cannot reach the mail server {host}:{port} "
                     f"({type(error).__name__}: {error})")
    return Check("mail", True, f"{host}:{port} answers")


# -- the audit trail ---------------------------------------------------------------------------
def audit_chain(engine: Engine) -> Check:
    """The audit trail's hash chain is intact.

    The seam for checkpoints: this asks `gapwatch.audit.verify`, as `gapwatch audit verify`
    does. When verify learns to check the chain against its latest signed checkpoint, this
    check does too; only the line below needs to name the checkpoint.
    """
    from gapwatch import audit

    try:
        with db.new_session(engine) as session:
            verdict = audit.verify(session)
    except SQLAlchemyError as error:
        return Check("audit", False, f"cannot read the audit trail ({db.outage_line(error)})")
    if not verdict.ok:
        return Check("audit", False, verdict.message)
    return Check("audit", True, f"{verdict.entries} entries, chain intact, head {verdict.head_seq}")


def ready(engine: Engine) -> list[Check]:
    """The checks of /readyz: the database answers and its schema is current."""
    answers = database(engine)
    return [answers, schema(engine) if answers.ok else Check("schema", False, "not checked")]


def doctor(engine: Engine, config: Mapping, now: datetime | None = None) -> list[Check]:
    """Every check, in the order a person would look: database first, mail last."""
    checks = ready(engine)
    if not checks[0].ok:
        return [*checks, mail_server(config)]
    return [*checks, heartbeat(engine, config, now), daily(engine, config, now),
            outbox(engine), audit_chain(engine), mail_server(config)]


def beat(engine: Engine, process: str, started_at: datetime) -> None:
    """Record that `process` is alive now; forget processes silent for a week."""
    now = clock.now()
    with db.write_intent(), engine.begin() as connection:
        done = connection.execute(
            SchedulerBeat.__table__.update().where(SchedulerBeat.__table__.c.process == process)
            .values(beat_at=now)).rowcount
        if not done:
            connection.execute(SchedulerBeat.__table__.insert().values(
                process=process, started_at=started_at, beat_at=now))
        connection.execute(SchedulerBeat.__table__.delete().where(
            SchedulerBeat.__table__.c.beat_at < now - timedelta(days=7)))

