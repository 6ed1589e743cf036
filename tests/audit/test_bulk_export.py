"""The bulk export zip: every row of every case's tables, a manifest that checks, and the CLI."""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlalchemy import select

from gapwatch import audit
from gapwatch import operations as ops
from gapwatch.exports.bulk import export_all
from gapwatch.exports.check import check_export
from gapwatch.models import AuditEvent, Case, Flag, Handoff, Ownership, Person
from tests.audit.conftest import tampering
from tests.support import D, event, load, person_and_case

AUDITOR = ops.Actor(name="user:inspector@hmip.example", read_only=True)
TABLES = {"persons.jsonl": Person, "cases.jsonl": Case, "ownerships.jsonl": Ownership,
          "handoffs.jsonl": Handoff, "flags.jsonl": Flag, "audit.jsonl": AuditEvent}


def read(path, name) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read(name).splitlines()]


def stored(session, model) -> list[dict]:
    table = model.__table__
    return [audit.plain(dict(r)) for r in session.execute(select(table).order_by(table.c.id)).mappings()]


@pytest.fixture
def two_cases(flagged):
    """C-1 (HMP Hewell, WMERCIA, WMIDS; a flag) and C-2 (Staffordshire only, opened 2026-08-01)."""
    person_and_case(flagged, "C-2", opened_on=D("2026-08-01"), home_area="STAFFS")
    load(flagged, event("C-2", "2026-08-01", "ownership_started", agency="STAFFS",
                        role="supervision", officer="R. Khan"))
    return flagged


def test_every_row_of_every_table_is_exported(two_cases, tmp_path):
    path = tmp_path / "all.zip"
    manifest = export_all(two_cases.bind, path, actor=AUDITOR)
    for name, model in TABLES.items():
        rows = read(path, name)
        assert manifest["files"][name]["rows"] == len(rows)
        expected = stored(two_cases, model)
        assert len(rows) == len(expected) > 0, name
        for got, row in zip(rows, expected, strict=True):
            assert {k: got[k] for k in row} == row, name  # every column, value for value
    assert {r["reference"] for r in read(path, "cases.jsonl")} == {"C-1", "C-2"}
    assert {r["to_agency"] for r in read(path, "handoffs.jsonl")} == {"WMERCIA", "WMIDS"}


def test_a_flag_is_exported_as_last_seen_on_the_last_day_scanned(journey, tmp_path):
    """Scanned on 12 June (a flag opens) and 13 June (nothing new: nothing written to it), the
    flag is exported as last seen on 13 June, as the API says it."""
    from gapwatch.scan import scan

    scan(journey, D("2026-06-12"))
    scan(journey, D("2026-06-13"))
    assert journey.execute(select(Flag.last_seen_on)).scalar_one() == D("2026-06-12")
    path = tmp_path / "all.zip"
    export_all(journey.bind, path, actor=AUDITOR)
    (row,) = read(path, "flags.jsonl")
    assert (row["status"], row["first_seen_on"], row["last_seen_on"]) == (
        "open", "2026-06-12", "2026-06-13")


def test_the_manifest_holds_the_hashes_and_the_chain_head(two_cases, tmp_path):
    path = tmp_path / "all.zip"
    manifest = export_all(two_cases.bind, path, actor=AUDITOR)
    head = audit.chain_head(two_cases)
    assert manifest["audit_head"] == {"seq": head[0], "hash": head[1]}
    last = two_cases.execute(select(AuditEvent).where(AuditEvent.seq == head[0])).scalar_one()
    assert (last.action, last.actor, last.detail["file"]) == ("export.bulk", AUDITOR.name, "all.zip")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("manifest.json")) == manifest
    problems, verdict, _ = check_export(two_cases, path)
    assert problems == [] and verdict.ok


def test_an_agency_and_days_choose_the_cases(two_cases, tmp_path):
    path = tmp_path / "staffs.zip"
    export_all(two_cases.bind, path, actor=AUDITOR, agency="STAFFS")
    assert [c["reference"] for c in read(path, "cases.jsonl")] == ["C-2"]
    assert {o["case"] for o in read(path, "ownerships.jsonl")} == {"C-2"}
    assert read(path, "handoffs.jsonl") == [] and read(path, "flags.jsonl") == []
    assert {e["case_reference"] for e in read(path, "audit.jsonl")} == {"C-2"}
    export_all(two_cases.bind, path, actor=AUDITOR, until=D("2026-07-31"))
    assert [c["reference"] for c in read(path, "cases.jsonl")] == ["C-1"]
    export_all(two_cases.bind, path, actor=AUDITOR, since=D("2027-01-01"), until=D("2027-01-31"))
    assert [c["reference"] for c in read(path, "cases.jsonl")] == ["C-1", "C-2"]  # both still open
    assert read(path, "audit.jsonl") == []  # nothing was written in 2027


def test_a_case_closed_on_the_first_day_asked_for_was_not_open_then(two_cases, tmp_path):
    from gapwatch import operations as ops
    from tests.support import act
    act(two_cases, ops.close_case, case="C-2", on=D("2026-09-01"))
    path = tmp_path / "sept.zip"
    export_all(two_cases.bind, path, actor=AUDITOR, since=D("2026-09-01"), until=D("2026-09-30"))
    assert [c["reference"] for c in read(path, "cases.jsonl")] == ["C-1"]
    export_all(two_cases.bind, path, actor=AUDITOR, since=D("2026-08-31"), until=D("2026-09-30"))
    assert [c["reference"] for c in read(path, "cases.jsonl")] == ["C-1", "C-2"]


def test_a_changed_file_is_named(two_cases, tmp_path):
    path, forged = tmp_path / "all.zip", tmp_path / "forged.zip"
    export_all(two_cases.bind, path, actor=AUDITOR)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(forged, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "handoffs.jsonl":
                data = data.replace(b"rejected", b"accepted")
            target.writestr(name, data)
    problems, _, _ = check_export(two_cases, forged)
    assert len(problems) == 1 and problems[0].startswith("handoffs.jsonl was altered")


def test_history_rewritten_after_the_export_is_caught(two_cases, tmp_path):
    path = tmp_path / "all.zip"
    export_all(two_cases.bind, path, actor=AUDITOR)
    with tampering(two_cases) as session:
        session.execute(AuditEvent.__table__.update().where(AuditEvent.seq == 3)
                        .values(actor="user:nobody@example"))
    problems, verdict, _ = check_export(two_cases, path)
    assert "audit entry 3 differs between the export and the system: changed" in problems
    assert not verdict.ok and verdict.broken_seq == 3


def test_entries_removed_from_the_end_after_the_export_are_caught(two_cases, tmp_path):
    path = tmp_path / "all.zip"
    manifest = export_all(two_cases.bind, path, actor=AUDITOR)
    head = manifest["audit_head"]["seq"]
    with tampering(two_cases) as session:
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq >= head - 1))
    problems, verdict, _ = check_export(two_cases, path)
    assert verdict.ok  # the shortened chain still links: only the export's head shows the cut
    assert f"the export's audit head, entry {head}, is no longer in the system: removed" in problems


# -- the command line --------------------------------------------------------------------------
def test_cli_bulk_export_shows_progress_and_verifies(app, two_cases, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "all.zip"
    result = runner.invoke(args=["export", "--all", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "cases.jsonl: 2 rows" in result.stderr and "rows/s" in result.stderr
    result = runner.invoke(args=["audit", "verify", "--export", str(path)])
    assert result.exit_code == 0, result.output
    assert "matches the system: 8 files intact" in result.stdout


def test_cli_case_export_and_verify(app, two_cases, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "c1.csv"
    result = runner.invoke(args=["export", "C-1", "--format", "csv", "-o", str(out), "--as-of",
                                 "2026-06-12"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("day,event,case")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.stdout.startswith("audit chain intact: ")
    with tampering(two_cases) as session:
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 7))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain BROKEN at entry 7 (removed)" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["export"], "name a case to export, or use --all"),
    (["export", "--all"], "give the zip with -o FILE.zip"),
    (["export", "C-404"], "unknown case 'C-404'"),
    (["export", "C-1", "--agency", "WMIDS"], "--agency, --since and --until go with --all"),
    (["export", "--all", "-o", "x.zip", "--agency", "NOWHERE"], "unknown agency 'NOWHERE'"),
    (["export", "--all", "-o", "x.zip", "--as-of", "2026-01-01"], "--as-of and --format go with one case"),
    (["export", "--all", "-o", "x.zip", "--format", "csv"], "--as-of and --format go with one case"),
])
def test_cli_explains_mistakes(app, journey, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.stderr
