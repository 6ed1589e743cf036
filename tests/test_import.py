"""`gapwatch import`: JSON Lines and CSV, all or nothing per file, errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gapwatch import audit, db
from gapwatch.demo import region
from gapwatch.demo.synthetic import synthetic_cases
from gapwatch.models import (
    Agency,
    AuditEvent,
    Case,
    Contract,
    Handoff,
    ImportBatch,
    Ownership,
    Person,
)
from gapwatch.queries import load_journey
from tests.support import D, event

TABLES = (Agency, Contract, Person, Case, Ownership, Handoff, ImportBatch, AuditEvent)

AGENCIES = [
    {"type": "agency", "code": "HMP-HEWELL", "name": "HMP Hewell", "kind": "prison",
     "region": "West Midlands", "alert_emails": ["omu@hewell.example"]},
    {"type": "agency", "code": "WMIDS", "name": "West Midlands Probation", "kind": "probation"},
    {"type": "agency", "code": "STAFFS", "name": "Staffordshire Probation", "kind": "probation"},
]
C1 = [
    {"type": "person", "reference": "P-1", "given_name": "Sam", "family_name": "Example",
     "date_of_birth": "1990-05-05", "home_area": "WMIDS"},
    {"type": "case", "reference": "C-1", "person": "P-1", "opened_on": "2026-01-10",
     "risk_level": "high", "expected_release_on": "2026-06-10"},
    event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
]
# A second, valid journey that opens every bad file: it must not survive the bad line.
C2 = [
    {"type": "person", "reference": "P-2", "given_name": "Alex", "family_name": "Other",
     "date_of_birth": "1985-01-01", "home_area": "STAFFS"},
    {"type": "case", "reference": "C-2", "person": "P-2", "opened_on": "2026-02-01"},
    event("C-2", "2026-02-01", "ownership_started", agency="STAFFS", role="supervision"),
]


def write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_import(app, *paths: Path, args: tuple = ()):
    return app.test_cli_runner().invoke(args=["import", *args, *map(str, paths)])


def counts(app) -> dict[str, int]:
    with app.app_context():
        session = db.new_session(db.get_engine())
        try:
            return {t.__name__: session.execute(select(func.count()).select_from(t)).scalar()
                    for t in TABLES}
        finally:
            session.close()


@pytest.fixture
def base(app, tmp_path):
    """The region and case C-1 (in HMP Hewell's custody), imported from a first file."""
    result = run_import(app, write_jsonl(tmp_path / "base.jsonl", [*AGENCIES, *C1]))
    assert result.exit_code == 0, result.output
    return app


BAD_RECORDS = {
    "unknown agency": (
        event("C-1", "2026-03-01", "ownership_started", agency="HMP-NOWHERE", role="custody"),
        "unknown agency 'HMP-NOWHERE'"),
    "unknown case": (
        event("C-404", "2026-03-01", "case_closed"), "unknown case 'C-404'"),
    "unknown person": (
        {"type": "case", "reference": "C-3", "person": "P-404", "opened_on": "2026-03-01"},
        "unknown person 'P-404'"),
    "impossible date": (
        event("C-1", "2026-02-30", "ownership_ended", agency="HMP-HEWELL"),
        "on: '2026-02-30' is not a date (YYYY-MM-DD)"),
    "unknown key": (
        {**event("C-1", "2026-03-01", "case_closed"), "colour": "red"}, "unknown key 'colour'"),
    "broken JSON": ('{"type": "event", "case": "C-1",', "broken JSON"),
    "role outside its set": (
        event("C-1", "2026-03-01", "ownership_started", agency="WMIDS", role="warden"),
        "role: 'warden' is not one of"),
    "risk outside its set": (
        {"type": "case", "reference": "C-3", "person": "P-1", "opened_on": "2026-03-01",
         "risk_level": "extreme"},
        "risk_level: 'extreme' is not one of"),
    "unknown event": (
        event("C-1", "2026-03-01", "escaped"), "event 'escaped' is not one of"),
    "accept with nothing pending": (
        event("C-1", "2026-03-01", "handoff_accepted", to_agency="WMIDS"),
        "cannot accept: case C-1 has no pending handoff to WMIDS"),
    "end of an ownership that is not active": (
        event("C-1", "2026-03-01", "ownership_ended", agency="WMIDS"),
        "WMIDS has no ownership of case C-1 active on 1 March 2026"),
    "transfer from an agency that does not own the case": (
        event("C-1", "2026-03-01", "handoff_requested", from_agency="STAFFS", to_agency="WMIDS",
              role="supervision", kind="transfer"),
        "STAFFS cannot transfer case C-1: it holds no"),
}


@pytest.mark.parametrize("kind", list(BAD_RECORDS))
def test_a_bad_record_stops_its_file_names_the_line_and_keeps_nothing(base, tmp_path, kind):
    record, reason = BAD_RECORDS[kind]
    path = write_jsonl(tmp_path / "bad.jsonl", [*C2, record])
    before = counts(base)
    result = run_import(base, path)
    assert result.exit_code == 1
    assert f"{path}:4: {reason}" in result.output
    assert f"nothing of {path} was imported" in result.output
    assert counts(base) == before


def test_accepting_a_handoff_already_accepted_is_refused(base, tmp_path):
    path = write_jsonl(tmp_path / "twice.jsonl", [
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="WMIDS", role="supervision", kind="transfer", due_on="2026-06-10"),
        event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS", officer="J. Smith"),
        event("C-1", "2026-05-04", "handoff_accepted", to_agency="WMIDS"),
    ])
    before = counts(base)
    result = run_import(base, path)
    assert result.exit_code == 1
    assert (f"{path}:3: cannot accept: the handoff to WMIDS for case C-1 is already accepted"
            in result.output)
    assert counts(base) == before


def test_a_good_file_goes_through_the_operations_and_is_audited(base, session, tmp_path):
    path = write_jsonl(tmp_path / "release.jsonl", [
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="WMIDS", role="supervision", kind="transfer", due_on="2026-06-10"),
        event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS", officer="J. Smith"),
    ])
    result = run_import(base, path)
    assert result.exit_code == 0, result.output
    assert f"{path}: imported 2 records" in result.output
    journey = load_journey(session, "C-1")
    assert [(o.agency, o.role, o.starts_on, o.ends_on) for o in journey.ownerships] == [
        ("HMP-HEWELL", "custody", D("2026-01-10"), D("2026-06-10")),
        ("WMIDS", "supervision", D("2026-06-10"), None),
    ]
    actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions[-4:] == ["handoff.requested", "ownership.started", "handoff.accepted",
                            "import.completed"]


def test_importing_the_same_file_twice_duplicates_nothing(app, tmp_path):
    path = write_jsonl(tmp_path / "region.jsonl", [*AGENCIES, *C1, *C2])
    assert run_import(app, path).exit_code == 0
    after_first = counts(app)
    again = run_import(app, path)
    assert again.exit_code == 0
    assert "already imported on" in again.output and "nothing changed" in again.output
    copy = tmp_path / "renamed.jsonl"
    copy.write_bytes(path.read_bytes())
    assert "already imported" in run_import(app, copy).output
    assert counts(app) == after_first
    assert after_first["Case"] == 2 and after_first["ImportBatch"] == 1


def test_of_several_files_only_the_bad_one_is_left_out(app, tmp_path):
    first = write_jsonl(tmp_path / "1-region.jsonl", [*AGENCIES, *C1])
    bad = write_jsonl(tmp_path / "2-bad.jsonl", [*C2, event("C-2", "2026-13-01", "case_closed")])
    third = write_jsonl(tmp_path / "3-more.jsonl", [
        event("C-1", "2026-03-01", "officer_assigned", agency="HMP-HEWELL", officer="R. Patel"),
    ])
    result = run_import(app, first, bad, third)
    assert result.exit_code == 1
    assert f"{first}: imported 6 records" in result.output
    assert f"{bad}:4: on: '2026-13-01' is not a date (YYYY-MM-DD)" in result.output
    assert f"{third}: imported 1 records" in result.output
    assert counts(app)["Case"] == 1 and counts(app)["ImportBatch"] == 2


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_csv_files_one_record_type_each(app, session, tmp_path):
    agencies = write_csv(
        tmp_path / "agencies.csv", "code,name,kind,region,alert_emails",
        'HMP-HEWELL,HMP Hewell,prison,West Midlands,"omu@hewell.example; duty@hewell.example"',
        "WMIDS,West Midlands Probation,probation,West Midlands,",
    )
    persons = write_csv(tmp_path / "persons.csv",
                        "reference,given_name,family_name,date_of_birth,home_area",
                        "P-1,Sam,Example,1990-05-05,WMIDS")
    cases = write_csv(tmp_path / "cases.csv",
                      "reference,person,opened_on,risk_level,expected_release_on",
                      "C-1,P-1,2026-01-10,high,2026-06-10")
    events = write_csv(
        tmp_path / "events.csv", "case,on,event,agency,role,from_agency,to_agency,kind,due_on,officer",
        "C-1,2026-01-10,ownership_started,HMP-HEWELL,custody,,,,,",
        "C-1,2026-05-01,handoff_requested,,supervision,HMP-HEWELL,WMIDS,transfer,2026-06-10,",
        "C-1,2026-05-03,handoff_accepted,,,,WMIDS,,,J. Smith",
    )
    result = run_import(app, agencies, persons, cases, events)
    assert result.exit_code == 0, result.output
    assert f"{events}: imported 3 records" in result.output
    hewell = session.execute(select(Agency).where(Agency.code == "HMP-HEWELL")).scalar_one()
    assert hewell.alert_emails == ["omu@hewell.example", "duty@hewell.example"]
    journey = load_journey(session, "C-1")
    assert [(o.agency, o.starts_on, o.ends_on, o.officer) for o in journey.ownerships] == [
        ("HMP-HEWELL", D("2026-01-10"), D("2026-06-10"), None),
        ("WMIDS", D("2026-06-10"), None, "J. Smith"),
    ]


def test_a_bad_csv_row_names_its_line(base, tmp_path):
    events = write_csv(tmp_path / "events.csv", "case,on,event,agency,role,officer",
                       "C-1,2026-03-01,officer_assigned,HMP-HEWELL,,R. Patel",
                       "C-1,2026-03-02,ownership_started,WMIDS,jailer,")
    before = counts(base)
    result = run_import(base, events)
    assert result.exit_code == 1
    assert f"{events}:3: role: 'jailer' is not one of" in result.output
    assert counts(base) == before


def test_a_large_file_shows_its_progress_and_keeps_the_audit_chain_intact(app, session, tmp_path,
                                                                           backend):
    vacuums = text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'handoff'")
    before = None if backend == "sqlite" else session.execute(vacuums).scalar()
    session.rollback()
    path = tmp_path / "large.jsonl"
    with path.open("w") as out:
        for record in [*region.agency_records(), *region.contract_records(D("2026-11-25"))]:
            out.write(json.dumps(record) + "\n")
        for case in synthetic_cases(D("2026-11-25"), 2600, seed=3):
            for record in case:
                out.write(json.dumps(record) + "\n")
    assert path.stat().st_size > 1_000_000
    lines = sum(1 for _ in path.open())
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    progress = [line for line in result.output.splitlines() if "records checked" in line]
    assert progress[0] == f"{path}: 2,000 of about {lines:,} records checked"
    assert progress[-1] == f"{path}: {lines:,} of about {lines:,} records checked"
    assert f"{path}: imported {lines} records" in result.output
    # More than VACUUM_AFTER records: vacuumed (PostgreSQL) or analysed (SQLite) after, as the
    # demo is, so the dashboard's counts read their indexes alone.
    assert f"vacuumed and analysed the database after {lines:,} records" in result.output
    session.rollback()
    if backend == "sqlite":
        assert session.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar() > 0
    else:
        assert session.execute(vacuums).scalar() == before + 1
    verdict = audit.verify(session)
    assert verdict.ok, verdict.message
    assert verdict.entries > lines  # one or more entries per record, and the import's own
