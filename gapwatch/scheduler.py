"""The scheduled jobs, in their own process: the daily scan and digests, and retries of mail.

`gapwatch scheduler` runs APScheduler's BlockingScheduler (never inside the web app, never on
import). The daily run (at `SCAN_AT`, Europe/London) scans the day, which writes the digests in
the same transaction, then sends what is due; every `MAIL_RETRY_MINUTES` minutes the outbox is
tried again. A scheduler that starts after `SCAN_AT` without the day's run done runs it at once.
At `LINK_AT` (05:30) the `link` job scores the person records afresh (`gapwatch.linking`), so
the scan after it flags the day's possible twins; it claims no day, so a second scheduler would
run it again, which only rescores the same proposals.

The daily run claims its (job, day) in the database before it starts, so schedulers on two hosts
run it once:

- on PostgreSQL it first takes a session-level advisory lock for the (job, day); a process that
  cannot get it leaves the run to whoever holds it. Holding the lock also proves that a
  `running` row left behind belongs to a process that died, so it is taken over at once;
- then the unique `JobRun` row: inserted as `running` (the unique constraint lets one insert
  win), skipped when `done`, taken over when `failed` or when its heartbeat is older than
  `SCHEDULER_STALE_SECONDS` (on SQLite, where there is no advisory lock).

While it runs, a thread beats the row's heartbeat. The scan itself is one transaction, so a run
that died midway left nothing half-written; the run that takes over does all of it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from gapwatch import alerts, clock, db, linking
from gapwatch.models import JobRun
from gapwatch.scan import scan

log = logging.getLogger(__name__)

DAILY = "daily-scan"
HEARTBEAT_SECONDS = 30
STALE_SECONDS = 600
MAIL_RETRY_MINUTES = 5
# Test-only: a process with this variable set exits right after claiming its run, as if killed.
DIE_AFTER_CLAIM = "GAPWATCH_TEST_DIE_AFTER_CLAIM"


@dataclass
class Outcome:
    job: str
    day: date
    ran: bool
    why: str
    took_over: bool = False


def host_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_key(job: str, day: date) -> int:
    """Return a signed 64-bit advisory lock key for the (job, day)."""
    digest = hashlib.sha256(f"gapwatch:{job}:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- claiming ----------------------------------------------------------------------------------
def _claim_row(engine: Engine, job: str, day: date, stale: timedelta, locked: bool) -> tuple[bool, str, bool]:
    """Insert or take over the (job, day) row; return (claimed, why, took_over)."""
    now, host = clock.now(), host_name()
    with db.write_intent(), engine.begin() as connection:
        row = connection.execute(
            select(JobRun.id, JobRun.status, JobRun.heartbeat_at, JobRun.host)
            .where(JobRun.job == job, JobRun.day == day)
        ).first()
        if row is None:
            try:
                with connection.begin_nested():
                    connection.execute(insert(JobRun).values(
                        job=job, day=day, status="running", host=host, started_at=now,
                        heartbeat_at=now))
            except IntegrityError:
                return False, "another scheduler claimed it first", False
            return True, "claimed", False
        if row.status == "done":
            return False, f"already done by {row.host}", False
        beat = _aware(row.heartbeat_at)
        orphaned = row.status == "failed" or locked or beat is None or now - beat > stale
        if not orphaned:
            return False, f"running on {row.host} (heartbeat {beat:%H:%M:%S})", False
        taken = connection.execute(
            update(JobRun)
            .where(JobRun.id == row.id, JobRun.status == row.status,
                   JobRun.heartbeat_at == row.heartbeat_at)
            .values(status="running", host=host, heartbeat_at=now, error=None)
        ).rowcount
        if taken != 1:
            return False, "another scheduler took it over first", False
        return True, f"took over from {row.host} ({row.status})", True


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=clock.now().tzinfo)  # SQLite hands back naive UTC
    return moment


def _finish(engine: Engine, job: str, day: date, status: str, error: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(JobRun).where(JobRun.job == job, JobRun.day == day)
            .values(status=status, finished_at=clock.now(), heartbeat_at=clock.now(),
                    error=error))


class Heartbeat:
    """Beat the (job, day) row's heartbeat from a thread until stopped."""

    def __init__(self, engine: Engine, job: str, day: date, every: float):
        self.engine, self.job, self.day, self.every = engine, job, day, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(JobRun).where(JobRun.job == self.job, JobRun.day == self.day)
                        .values(heartbeat_at=clock.now()))
            except Exception:  # a missed beat is not fatal; the next one may get through
                log.warning("heartbeat of %s %s failed", self.job, self.day, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.thread.join()


# -- the daily run -----------------------------------------------------------------------------
def run_daily(engine: Engine, config: Mapping, day: date) -> Outcome:
    """Claim the day's run and, if it is ours, scan the day and send the digests that are due."""
    stale = timedelta(seconds=float(config.get("SCHEDULER_STALE_SECONDS", STALE_SECONDS)))
    guard = None
    if not db.is_sqlite(engine):
        guard = engine.connect()
        got = guard.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(DAILY, day)})
        if not got.scalar():
            guard.close()
            return Outcome(DAILY, day, False, "another scheduler holds its lock")
        guard.commit()
    try:
        claimed, why, took_over = _claim_row(engine, DAILY, day, stale, locked=guard is not None)
        if not claimed:
            return Outcome(DAILY, day, False, why)
        if os.environ.get(DIE_AFTER_CLAIM):
            os._exit(3)
        _work(engine, config, day)
        return Outcome(DAILY, day, True, why, took_over)
    finally:
        if guard is not None:
            # Session locks outlive a return to the pool: let go of it by name.
            guard.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(DAILY, day)})
            guard.commit()
            guard.close()


def _work(engine: Engine, config: Mapping, day: date) -> None:
    beat = float(config.get("SCHEDULER_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    session = db.new_session(engine)
    try:
        with Heartbeat(engine, DAILY, day, beat):
            result = scan(session, day, config=config, keep_findings=False)
            sent = alerts.send_pending(session, config)
    except Exception as error:
        session.close()
        _finish(engine, DAILY, day, "failed", f"{type(error).__name__}: {error}")
        raise
    session.close()
    _finish(engine, DAILY, day, "done")
    log.info("daily run of %s: %d cases, %d findings, %d digests sent", day, result.cases,
             result.found, sent)


def send_mail(engine: Engine, config: Mapping) -> int:
    """Try the outbox again: send every digest that is due."""
    session = db.new_session(engine)
    try:
        return alerts.send_pending(session, config)
    finally:
        session.close()


def scan_time(config: Mapping) -> tuple[int, int]:
    hour, minute = str(config.get("SCAN_AT", "06:00")).split(":")
    return int(hour), int(minute)


def due_today(engine: Engine, config: Mapping, now: datetime | None = None) -> date | None:
    """Return today's day if its scan time has passed and its run is not done yet."""
    now = (now or clock.now()).astimezone(clock.ZONE)
    hour, minute = scan_time(config)
    if (now.hour, now.minute) < (hour, minute):
        return None
    with engine.connect() as connection:
        status = connection.execute(
            select(JobRun.status).where(JobRun.job == DAILY, JobRun.day == now.date())
        ).scalar()
    return None if status == "done" else now.date()


def build(engine: Engine, config: Mapping):
    """Return the BlockingScheduler with the daily run, the linking and the mail retry (not started)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    hour, minute = scan_time(config)
    scheduler = BlockingScheduler(timezone=clock.ZONE)
    scheduler.add_job(
        lambda: _report(run_daily(engine, config, clock.today())),
        CronTrigger(hour=hour, minute=minute, timezone=clock.ZONE),
        id=DAILY, coalesce=True, misfire_grace_time=12 * 3600, max_instances=1,
    )
    link_hour, link_minute = str(config.get("LINK_AT", "05:30")).split(":")
    scheduler.add_job(
        lambda: linking.run_scheduled(engine, config),
        CronTrigger(hour=int(link_hour), minute=int(link_minute), timezone=clock.ZONE),
        id="link", coalesce=True, misfire_grace_time=12 * 3600, max_instances=1,
    )
    scheduler.add_job(
        lambda: send_mail(engine, config),
        IntervalTrigger(minutes=int(config.get("MAIL_RETRY_MINUTES", MAIL_RETRY_MINUTES))),
        id="mail-retry", coalesce=True, max_instances=1,
    )
    return scheduler


def _report(outcome: Outcome) -> Outcome:
    state = "ran" if outcome.ran else "skipped"
    click.echo(f"{outcome.job} {outcome.day}: {state} ({outcome.why})")
    return outcome


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit.")
@click.option("--day", default=None, metavar="YYYY-MM-DD",
              help="With --once: run this day's daily job whether or not it is due.")
@with_appcontext
def scheduler_command(once: bool, day: str | None):
    """Run the scheduled jobs in their own process."""
    from gapwatch.cli import parse_day

    config, engine = current_app.config, db.get_engine()
    wanted = parse_day(None, None, day)
    if once:
        target = wanted or due_today(engine, config)
        if target is not None:
            _report(run_daily(engine, config, target))
        send_mail(engine, config)
        return
    behind = due_today(engine, config)
    if behind is not None:
        click.echo(f"catching up: the daily run of {behind} has not happened")
        _report(run_daily(engine, config, behind))
    hour, minute = scan_time(config)
    click.echo(f"gapwatch scheduler: daily scan at {hour:02d}:{minute:02d} Europe/London "
               "(Ctrl+C to stop)")
    try:
        build(engine, config).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("gapwatch scheduler stopped")
