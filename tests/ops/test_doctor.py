"""`gapwatch doctor`: a table for a person, JSON for a machine, exit 1 when any check fails;
and the restore drill: a backup restored into a fresh database passes doctor with the same
audit trail."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gapwatch import clock
from tests.ops.conftest import GAPWATCH, environment, gapwatch, mail

CHECKS = ["database", "schema", "heartbeat", "daily", "outbox", "audit", "mail"]


def run_the_day(database_url, tmp_path, smtp) -> None:
    code, out, err = gapwatch(database_url, "scheduler", "--once", "--day",
                              clock.today().isoformat(), cwd=tmp_path, **mail(smtp))
    assert code == 0, out + err
    assert smtp.inbox.messages


def doctor(database_url, tmp_path, smtp, *more) -> tuple[int, dict | str]:
    code, out, err = gapwatch(database_url, "doctor", *more, cwd=tmp_path, **mail(smtp),
                              DAILY_DEADLINE="00:00")
    return code, (json.loads(out) if "--json" in more else out + err)


def test_doctor_passes_when_everything_works_and_says_what_fails(journeys, database_url,
                                                               tmp_path, smtp):
    run_the_day(database_url, tmp_path, smtp)
    code, report = doctor(database_url, tmp_path, smtp, "--json")
    assert code == 0, report
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(c["ok"] for c in report["checks"]), report
    code, table = doctor(database_url, tmp_path, smtp)
    assert code == 0 and table.rstrip().endswith("all checks pass"), table
    smtp.stop()
    code, report = doctor(database_url, tmp_path, smtp, "--json")
    assert code == 1
    assert {c["name"]: c["ok"] for c in report["checks"]} == {**dict.fromkeys(CHECKS, True),
                                                              "mail": False}
    code, table = doctor(database_url, tmp_path, smtp)
    assert code == 1 and "FAIL  mail" in table and table.rstrip().endswith("failing: mail")


def test_doctor_fails_without_a_scheduler_or_a_daily_run(journeys, database_url, tmp_path, smtp):
    code, report = doctor(database_url, tmp_path, smtp, "--json")
    assert code == 1
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    assert failed == ["heartbeat", "daily"]


def test_doctor_fails_on_a_schema_behind(behind_url, tmp_path, smtp):
    code, report = doctor(behind_url, tmp_path, smtp, "--json")
    assert code == 1
    schema = next(c for c in report["checks"] if c["name"] == "schema")
    assert not schema["ok"] and "run `gapwatch init`" in schema["detail"]


def test_a_command_that_loses_its_database_ends_in_one_line(unreachable_url, tmp_path):
    code, out, err = gapwatch(unreachable_url, "scan", cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("gapwatch: the database stopped answering (")


def test_a_scan_whose_database_connection_dies_midway_ends_in_one_line(journeys, database_url,
                                                                      tmp_path, backend):
    """As a PostgreSQL restart does: the server ends the scan's connection while it works."""
    if backend != "postgresql":
        pytest.skip("SQLite has no server to lose; the test above covers its outage")
    from gapwatch.audit import WRITE_LOCK_KEY

    holder = create_engine(database_url)
    with holder.connect() as connection:
        # Hold the writers' lock, so the scan waits inside its transaction, mid-way.
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITE_LOCK_KEY})
        connection.commit()
        scanning = subprocess.Popen(
            [GAPWATCH, "scan"], cwd=tmp_path, env=environment(database_url),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = None
        for _ in range(600):
            waiting = connection.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar()
            connection.commit()
            if waiting is not None:
                break
            time.sleep(0.1)
        assert waiting is not None, "the scan never reached the writers' lock"
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": waiting})
        connection.commit()
        out, err = scanning.communicate(timeout=120)
    holder.dispose()
    assert scanning.returncode == 1, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("gapwatch: the database stopped answering (AdminShutdown: terminating "
                          "connection due to administrator command)")


# -- the restore drill ------------------------------------------------------------------------
def backup_and_restore(database_url: str, tmp_path, backend: str) -> tuple[str, Callable[[], None]]:
    """Back up as docs/operations.md says and restore into a fresh database; return its URL."""
    if backend == "sqlite":
        path = make_url(database_url).database
        subprocess.run(["sqlite3", path, f".backup '{tmp_path / 'backup.sqlite'}'"], check=True)
        restored = tmp_path / "restored" / "gapwatch.sqlite"
        restored.parent.mkdir()
        shutil.copyfile(tmp_path / "backup.sqlite", restored)
        return f"sqlite:///{restored}", lambda: None
    url = make_url(database_url)
    libpq = url.set(drivername="postgresql")
    dump = tmp_path / "gapwatch.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq.render_as_string(hide_password=False)],
                   check=True)
    name = f"gapwatch_restored_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target = libpq.set(database=name).render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", target, str(dump)],
                   check=True)

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def test_the_restore_drill(journeys, database_url, tmp_path, smtp, backend):
    run_the_day(database_url, tmp_path, smtp)
    code, before, err = gapwatch(database_url, "audit", "verify", cwd=tmp_path)
    assert code == 0 and "chain intact" in before, before + err
    restored, drop = backup_and_restore(database_url, tmp_path, backend)
    try:
        code, report = doctor(restored, tmp_path, smtp, "--json")
        assert code == 0, report
        code, after, _err = gapwatch(restored, "audit", "verify", cwd=tmp_path)
        assert code == 0
        assert after == before  # the same entries, the same head hash
    finally:
        drop()
