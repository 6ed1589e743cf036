"""The scheduler: the daily run claims its day, so two schedulers run it once, and a run that
died midway is taken over and completed by the next one. Real processes, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gapwatch import scheduler
from gapwatch.models import AuditEvent, Flag, JobRun
from tests.support import D, event, load, person_and_case, region

GAPWATCH = str(Path(sys.executable).with_name("gapwatch"))
DAY = "2026-06-11"


@pytest.fixture
def journeys(session):
    """Two cases with something to find on 11 June 2026."""
    region(session)
    for reference in ("C-1", "C-2"):
        person_and_case(session, reference, expected_release_on=D("2026-06-10"))
        load(session,
             event(reference, "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                   role="custody", officer="A. Officer"),
             event(reference, "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
                   to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-10"))
    return session


def start(database_url, tmp_path, **env) -> subprocess.Popen:
    environment = {**os.environ, "GAPWATCH_DATABASE_URL": database_url,
                   "GAPWATCH_SECRET_KEY": "test", "GAPWATCH_CHECKPOINT_DIR": str(tmp_path / "cp"),
                   "GAPWATCH_AUDIT_KEY_FILE": str(tmp_path / "audit_key.pem"), **env}
    return subprocess.Popen([GAPWATCH, "scheduler", "--once", "--day", DAY], cwd=tmp_path,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


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
    assert [code for code, _ in results] == [0, 0], results
    said = [out for _, out in results]
    assert sum(f"daily-scan {DAY}: ran" in out for out in said) == 1, said
    assert sum(f"daily-scan {DAY}: skipped" in out for out in said) == 1, said
    assert runs(journeys) == [("daily-scan", D(DAY), "done")]
    assert flags_opened(journeys) == 2  # one handoff-overdue flag per case, opened once
    code, out = finish(start(database_url, tmp_path))
    assert (code, "skipped (already done by" in out) == (0, True)


def test_a_run_killed_after_claiming_is_taken_over_and_completed(journeys, database_url, tmp_path,
                                                                 backend):
    code, _ = finish(start(database_url, tmp_path, GAPWATCH_TEST_DIE_AFTER_CLAIM="1"))
    assert code == 3
    assert runs(journeys) == [("daily-scan", D(DAY), "running")]
    assert journeys.execute(select(func.count()).select_from(Flag)).scalar() == 0
    # PostgreSQL shows the dead run by its released advisory lock, long before its heartbeat
    # goes stale; SQLite has no such lock, so there only a stale heartbeat shows it.
    stale = {"GAPWATCH_SCHEDULER_STALE_SECONDS": "0"} if backend == "sqlite" else {}
    code, out = finish(start(database_url, tmp_path, **stale))
    assert code == 0, out
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
    assert set(jobs) == {"daily-scan", "mail-retry"}
    assert str(jobs["daily-scan"].trigger.timezone) == "Europe/London"
    assert "hour='6', minute='30'" in str(jobs["daily-scan"].trigger)
    assert not built.running
