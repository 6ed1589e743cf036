"""The scheduled jobs, in their own process: the daily scan and digests, and retries of mail.

`gapwatch scheduler` runs APScheduler's BlockingScheduler (never inside the web app, never on
import). The daily run (at `SCAN_AT`, Europe/London) scans the day, which writes the digests
once its flags are committed, then sends what is due, then signs a checkpoint of the audit trail and
mails it in the auditors' digest (`gapwatch.alerts.auditors`); every `MAIL_RETRY_MINUTES`
minutes the outbox is tried again. A scheduler that starts after `SCAN_AT` without the day's run done runs it at once.
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
that died midway left nothing half-written; the run that takes over does all of it. A `running`
row whose process ran on this host and is gone is taken over at once, on either database.

A scheduler that found the day held by another keeps looking: every `SCHEDULER_RECHECK_SECONDS`
it asks again whether the day is due and claimable, so it takes the day over once the holder is
gone. Every `SCHEDULER_BEAT_SECONDS` it records its own heartbeat (`SchedulerBeat`), which
`gapwatch doctor` and the admin page read.

`scheduler --once` waits for a day another process holds (re-checking the same way) until it is
done or taken over, and exits 1 when the day is still not done, when the run failed, or when
digests are failing: cron and systemd then see what a person would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from gapwatch import alerts, checkpoint, clock, db, health, linking
from gapwatch import operations as ops
from gapwatch.models import JobRun
from gapwatch.scan import scan

log = logging.getLogger(__name__)

DAILY = "daily-scan"
HEARTBEAT_SECONDS = 30
STALE_SECONDS = 600
MAIL_RETRY_MINUTES = 5
RECHECK_SECONDS = 60
RETRY_FAILED_MINUTES = 15
BEAT_SECONDS = 60
# Test-only: a process with this variable set exits right after claiming its run, as if killed
# ("hang": it stops there instead, holding the day, until it is killed).
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


def holder_gone(holder: str) -> bool:
    """Tell whether `holder` (host:pid) ran on this host and its process no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False  # another host's process cannot be seen from here: its heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    try:  # killed but not yet reaped by its parent: a zombie holds nothing
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


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
        orphaned = (row.status == "failed" or locked or beat is None or now - beat > stale
                    or holder_gone(row.host))
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


def _finish(engine: Engine, job: str, day: date, status: str, error: str | None = None,
            scan_seconds: float | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(JobRun).where(JobRun.job == job, JobRun.day == day)
            .values(status=status, finished_at=clock.now(), heartbeat_at=clock.now(),
                    error=error, scan_seconds=scan_seconds))


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
        if os.environ.get(DIE_AFTER_CLAIM) == "hang":
            threading.Event().wait()
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
            # The trail's head leaves the database once a day (gapwatch.checkpoint): as a file,
            # and in the auditors' digest, sent at once.
            written, made = checkpoint.publish(engine, config)
            with ops.unit_of_work(session, alerts.outbox.SENDER) as uow:
                alerts.write_auditors_digest(uow, day, written, made, config)
            sent += alerts.send_pending(session, config)
    except Exception as error:
        session.close()
        try:
            _finish(engine, DAILY, day, "failed", _one_line(error)[:2000])
        except Exception:  # the database is gone: the row stays `running` for a takeover
            log.warning("could not mark the daily run of %s failed", day)
        raise
    session.close()
    _finish(engine, DAILY, day, "done", scan_seconds=result.seconds)
    log.info("daily run of %s: %d cases, %d findings, %d digests sent, checkpoint %s", day,
             result.cases, result.found, sent, written.name)


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


class Watch:
    """What one scheduler process does besides the cron: beat, and re-check the day."""

    def __init__(self, engine: Engine, config: Mapping):
        self.engine, self.config = engine, config
        self.process, self.started_at = host_name(), clock.now()
        self.running = threading.Lock()  # one daily run at a time in this process

    def beat(self) -> None:
        try:
            health.beat(self.engine, self.process, self.started_at)
        except Exception as error:  # the database may be restarting; the next beat will tell
            log.warning("could not record the scheduler's heartbeat: %s", db.outage_line(error))

    def daily(self, day: date | None = None, *, quiet: bool = False) -> Outcome | None:
        """Run the daily job of `day` (default: today once due) unless this process is on it;
        `quiet`: say nothing when it is skipped (a re-check that finds the holder alive)."""
        if not self.running.acquire(blocking=False):
            return None
        try:
            target = day or due_today(self.engine, self.config)
            if target is None:
                return None
            outcome = run_daily(self.engine, self.config, target)
            return outcome if quiet and not outcome.ran else _report(outcome)
        finally:
            self.running.release()

    def guarded(self, day: date | None = None, *, quiet: bool = False) -> None:
        """Run `daily` for the scheduler's own jobs: a failure is one log line, not a traceback
        (the run is marked failed, or left `running` for a takeover if the database went)."""
        try:
            self.daily(day, quiet=quiet)
        except Exception as error:
            log.error("the daily run failed: %s", _one_line(error))

    def recheck(self) -> None:
        """Take the day over if it is due and nobody live holds it; say nothing otherwise."""
        try:
            due = due_today(self.engine, self.config)
            if due is not None and self._failed_lately(due):
                return  # a run that failed is tried again, but not every minute
        except Exception as error:
            log.warning("the re-check of the daily run failed: %s", _one_line(error))
            return
        if due is not None:
            self.guarded(due, quiet=True)

    def _failed_lately(self, day: date) -> bool:
        wait = timedelta(minutes=float(self.config.get("SCHEDULER_RETRY_FAILED_MINUTES",
                                                       RETRY_FAILED_MINUTES)))
        with self.engine.connect() as connection:
            row = connection.execute(select(JobRun.status, JobRun.finished_at).where(
                JobRun.job == DAILY, JobRun.day == day)).first()
        finished = _aware(row.finished_at) if row is not None else None
        return row is not None and row.status == "failed" and finished is not None and (
            clock.now() - finished < wait)


def _one_line(error: BaseException) -> str:
    return db.outage_line(error) if db.is_outage(error) else f"{type(error).__name__}: {error}"


def seconds(config: Mapping, name: str, default: float) -> float:
    return float(config.get(name, default))


def build(engine: Engine, config: Mapping, watch: Watch | None = None):
    """Return the BlockingScheduler with the daily run, its re-check, the heartbeat and the
    mail retry (not started)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    watch = watch or Watch(engine, config)
    hour, minute = scan_time(config)
    scheduler = BlockingScheduler(timezone=clock.ZONE)
    scheduler.add_job(
        lambda: watch.guarded(clock.today()),
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
        watch.recheck,
        IntervalTrigger(seconds=seconds(config, "SCHEDULER_RECHECK_SECONDS", RECHECK_SECONDS)),
        id="daily-recheck", coalesce=True, max_instances=1,
    )
    scheduler.add_job(
        watch.beat, IntervalTrigger(seconds=seconds(config, "SCHEDULER_BEAT_SECONDS", BEAT_SECONDS)),
        id="heartbeat", coalesce=True, max_instances=1,
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


def day_status(engine: Engine, day: date) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            select(JobRun.status).where(JobRun.job == DAILY, JobRun.day == day)).scalar()


def once(engine: Engine, config: Mapping, watch: Watch, day: date) -> int:
    """Run `day`'s job, or wait while another live process runs it; return the exit status."""
    waited, limit = time.monotonic(), seconds(config, "SCHEDULER_ONCE_WAIT_SECONDS",
                                             STALE_SECONDS + 60)
    every = seconds(config, "SCHEDULER_RECHECK_SECONDS", RECHECK_SECONDS)
    outcome = watch.daily(day)
    while not outcome.ran and day_status(engine, day) != "done":
        if time.monotonic() - waited > limit:
            click.echo(f"gapwatch: the daily run of {day} is still not done ({outcome.why}) "
                       f"after waiting {limit:.0f}s", err=True)
            return 1
        time.sleep(every)  # another process holds the day: look again, as the scheduler does
        outcome = watch.daily(day, quiet=True)
    return 0


@click.command("scheduler")
@click.option("--once", "just_once", is_flag=True, help="Run the jobs that are due now, then exit.")
@click.option("--day", default=None, metavar="YYYY-MM-DD",
              help="With --once: run this day's daily job whether or not it is due.")
@with_appcontext
def scheduler_command(just_once: bool, day: str | None):
    """Run the scheduled jobs in their own process."""
    from gapwatch.cli import fail, parse_day

    config, engine = current_app.config, db.get_engine()
    wanted = parse_day(None, None, day)
    watch = Watch(engine, config)
    watch.beat()
    try:
        if just_once:
            target = wanted or due_today(engine, config)
            status = 0 if target is None else once(engine, config, watch, target)
            send_mail(engine, config)
            failing = failing_messages(engine)
            if failing:
                click.echo(f"gapwatch: {failing} message(s) failing (see /admin/outbox)", err=True)
            sys.exit(status or (1 if failing else 0))
        behind = due_today(engine, config)
        if behind is not None:
            click.echo(f"catching up: the daily run of {behind} has not happened")
            watch.daily(behind)
    except Exception as error:
        if db.is_outage(error):
            raise  # the command line says it in one line
        fail(f"the daily run failed: {_one_line(error)}")
    hour, minute = scan_time(config)
    click.echo(f"gapwatch scheduler: daily scan at {hour:02d}:{minute:02d} Europe/London "
               "(Ctrl+C to stop)")
    try:
        build(engine, config, watch).start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("gapwatch scheduler stopped")


def failing_messages(engine: Engine) -> int:
    """Count the outbox messages whose last attempt failed."""
    from gapwatch.alerts.outbox import listing

    session = db.new_session(engine)
    try:
        return len(listing(session, sent_limit=0)["failing"])
    finally:
        session.close()
