"""The scheduler: the daily run claims its day, so two schedulers run it once, and a run that
died midway is taken over and completed by the next one. Real processes, real databases."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gapwatch import clock, health, scheduler
from gapwatch.models import AuditEvent, Flag, JobRun
from tests.support import D

GAPWATCH = str(Path(sys.executable).with_name("gapwatch"))
DAY = "2026-06-11"


def start(database_url, tmp_path, *args, **env) -> subprocess.Popen:
    """Start `gapwatch scheduler ARGS` (by default `--once --day DAY`); "" alone: no arguments."""
    args = [] if args == ("",) else args or ("--once", "--day", DAY)
    environment = {**os.environ, "GAPWATCH_DATABASE_URL": database_url,
                   "GAPWATCH_SECRET_KEY": "test", "GAPWATCH_CHECKPOINT_DIR": str(tmp_path / "cp"),
                   "GAPWATCH_AUDIT_KEY_FILE": str(tmp_path / "audit_key.pem"),
                   "GAPWATCH_SCHEDULER_RECHECK_SECONDS": "0.2", "GAPWATCH_SMTP_PORT": "1", **env}
    # stderr to a file: a scheduler's warnings every 0.2 s would fill a pipe nobody reads.
    with tempfile.NamedTemporaryFile("w", dir=tmp_path, suffix=".stderr", delete=False) as log:
        process = subprocess.Popen([GAPWATCH, "scheduler", *args], cwd=tmp_path,
                                   env=environment, stdout=subprocess.PIPE, stderr=log, text=True)
    process.errors = Path(log.name)
    return process


def finish(process: subprocess.Popen) -> tuple[int, str]:
    out, _ = process.communicate(timeout=120)
    return process.returncode, out + process.errors.read_text()


def read_until(process: subprocess.Popen, wanted: str, seconds: float = 60) -> str:
    """What `process` prints on stdout until a line holding `wanted`, waiting at most `seconds`
    (a thread reads, so a process that never says it cannot hang the test)."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put("")],
                     daemon=True).start()
    said, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        said.append(line)
        if wanted in line or not line:
            break
    return "".join(said)


def runs(session) -> list[tuple]:
    session.rollback()  # a new transaction sees what the processes committed
    return [tuple(r) for r in session.execute(select(JobRun.job, JobRun.day, JobRun.status))]


def flags_opened(session) -> int:
    session.rollback()
    return session.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "flag.opened")).scalar()


def test_two_schedulers_run_the_day_once(journeys, database_url, tmp_path):
    first, second = start(database_url, tmp_path), start(database_url, tmp_path)
    results = [finish(first), finish(second)]
    # Both exit 1, only because no mail server listens: the digests are failing.
    assert [code for code, _ in results] == [1, 1], results
    assert all("message(s) failing (see /admin/outbox)" in out for _, out in results), results
    said = [out for _, out in results]
    assert sum(f"daily-scan {DAY}: ran" in out for out in said) == 1, said
    assert sum(f"daily-scan {DAY}: skipped" in out for out in said) == 1, said
    assert runs(journeys) == [("daily-scan", D(DAY), "done")]
    assert flags_opened(journeys) == 2  # one handoff-overdue flag per case, opened once
    code, out = finish(start(database_url, tmp_path))
    assert (code, "skipped (already done by" in out) == (1, True)


def test_a_run_killed_after_claiming_is_taken_over_and_completed(journeys, database_url, tmp_path):
    code, _ = finish(start(database_url, tmp_path, GAPWATCH_TEST_DIE_AFTER_CLAIM="1"))
    assert code == 3
    assert runs(journeys) == [("daily-scan", D(DAY), "running")]
    assert journeys.execute(select(func.count()).select_from(Flag)).scalar() == 0
    # PostgreSQL shows the dead run by its released advisory lock; SQLite, which has no such
    # lock, by the holder's process being gone from this host: both long before the heartbeat
    # goes stale (600 s).
    code, out = finish(start(database_url, tmp_path))
    assert code == 1 and "failing" in out, out  # the day ran; only its mail failed
    assert f"daily-scan {DAY}: ran (took over from" in out
    assert runs(journeys) == [("daily-scan", D(DAY), "done")]
    assert flags_opened(journeys) == 2


def test_a_live_run_is_not_taken_over_before_its_heartbeat_goes_stale(journeys, engine):
    claimed = scheduler._claim_row(engine, "daily-scan", D(DAY), scheduler.timedelta(minutes=10),
                                   locked=False)
    again = scheduler._claim_row(engine, "daily-scan", D(DAY), scheduler.timedelta(minutes=10),
                                 locked=False)
    assert claimed[0] and not again[0]
    assert "running on" in again[1]


@pytest.mark.parametrize(("at", "due"), [
    ("2026-06-11T04:59:00+00:00", False),  # 05:59 in London (BST)
    ("2026-06-11T05:00:00+00:00", True),  # 06:00 in London
])
def test_the_daily_run_is_due_from_scan_at_london_time(engine, at, due):
    moment = datetime.fromisoformat(at).astimezone(UTC)
    expected = D(DAY) if due else None
    assert scheduler.due_today(engine, {"SCAN_AT": "06:00"}, now=moment) == expected


def test_a_done_day_is_not_due_again(journeys, engine):
    scheduler._claim_row(engine, "daily-scan", D(DAY), scheduler.timedelta(minutes=10), locked=False)
    scheduler._finish(engine, "daily-scan", D(DAY), "done")
    moment = datetime.fromisoformat("2026-06-11T09:00:00+00:00")
    assert scheduler.due_today(engine, {"SCAN_AT": "06:00"}, now=moment) is None


def test_the_schedule_is_built_without_starting(engine):
    built = scheduler.build(engine, {"SCAN_AT": "06:30", "MAIL_RETRY_MINUTES": 5})
    jobs = {job.id: job for job in built.get_jobs()}
    assert set(jobs) == {"daily-scan", "daily-recheck", "heartbeat", "link", "mail-retry"}
    assert str(jobs["daily-scan"].trigger.timezone) == "Europe/London"
    assert "hour='6', minute='30'" in str(jobs["daily-scan"].trigger)
    assert not built.running


def wait_for(condition, seconds: float = 60.0, what: str = "") -> None:
    """Poll another process's effect on the database until `condition()` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {seconds}s waiting for {what}"
        time.sleep(0.1)


def test_a_long_running_scheduler_takes_the_day_over_when_its_holder_dies(journeys, database_url,
                                                                          tmp_path):
    today = clock.today()
    holder = start(database_url, tmp_path, "--once", "--day", today.isoformat(),
                   GAPWATCH_TEST_DIE_AFTER_CLAIM="hang")
    wait_for(lambda: runs(journeys) == [("daily-scan", today, "running")], what="the claim")
    watcher = start(database_url, tmp_path, "", GAPWATCH_SCAN_AT="00:00", PYTHONUNBUFFERED="1")
    said = []
    try:
        # The watcher starts, finds the day held by a live process, and goes on watching.
        said.append(watcher.stdout.readline())
        said.append(watcher.stdout.readline())
        assert f"daily-scan {today}: skipped (" in said[-1], said
        holder.kill()
        holder.wait()
        killed = time.monotonic()
        wait_for(lambda: runs(journeys) == [("daily-scan", today, "done")] or
                 watcher.poll() is not None, what="the takeover")
        took = time.monotonic() - killed
        # The run is committed before the watcher says so: wait for its line, not just the row.
        said.append(read_until(watcher, f"daily-scan {today}: ran ("))
    finally:
        holder.kill()
        watcher.terminate()
        watcher.wait(timeout=30)  # its stdout is the reader thread's
        err = watcher.errors.read_text()
    out = "".join(said)
    assert runs(journeys) == [("daily-scan", today, "done")], out + err
    assert took < 30, took  # not the 600 s of a stale heartbeat
    assert f"daily-scan {today}: ran (took over from" in out, out + err
    assert flags_opened(journeys) == 2


def test_once_exits_1_when_the_day_it_waited_for_is_still_not_done(journeys, database_url,
                                                                  tmp_path):
    holder = start(database_url, tmp_path, GAPWATCH_TEST_DIE_AFTER_CLAIM="hang")
    try:
        wait_for(lambda: runs(journeys) == [("daily-scan", D(DAY), "running")], what="the claim")
        code, out = finish(start(database_url, tmp_path, GAPWATCH_SCHEDULER_ONCE_WAIT_SECONDS="1"))
    finally:
        holder.kill()
        holder.wait()
    assert code == 1, out
    assert f"daily-scan {DAY}: skipped" in out
    assert f"gapwatch: the daily run of {DAY} is still not done" in out


def test_the_scheduler_records_its_heartbeat(journeys, engine, database_url, tmp_path):
    code, out = finish(start(database_url, tmp_path))
    assert code == 1, out  # the mail failed; the beat is there all the same
    beat = health.last_beat(engine)
    assert beat is not None and beat.process.endswith(tuple("0123456789"))
    assert health.heartbeat(engine, {}).ok
    assert not health.heartbeat(engine, {"HEARTBEAT_MAX_AGE_SECONDS": -1}).ok


def test_a_holder_on_this_host_is_gone_once_its_process_is(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert scheduler.holder_gone(f"{socket.gethostname()}:{dead.pid}")
    assert not scheduler.holder_gone(f"{socket.gethostname()}:{os.getpid()}")
    assert not scheduler.holder_gone(f"another-host:{dead.pid}")


def test_the_recheck_retries_a_failed_run_but_not_every_minute(journeys, engine, tmp_path):
    today = clock.today()
    scheduler._claim_row(engine, "daily-scan", today, scheduler.timedelta(minutes=10), locked=False)
    scheduler._finish(engine, "daily-scan", today, "failed", "OperationalError: gone")
    config = {"SCAN_AT": "00:00", "SMTP_PORT": 1, "SMTP_TIMEOUT": 1,
              "AUDIT_KEY_FILE": str(tmp_path / "audit_key.pem"),
              "CHECKPOINT_DIR": str(tmp_path / "checkpoints")}
    scheduler.Watch(engine, config).recheck()
    assert runs(journeys) == [("daily-scan", today, "failed")]  # failed a moment ago: later
    scheduler.Watch(engine, {**config, "SCHEDULER_RETRY_FAILED_MINUTES": 0}).recheck()
    assert runs(journeys) == [("daily-scan", today, "done")]
