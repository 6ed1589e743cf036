"""`gapwatch scan [--as-of DAY] [--dry-run] [--json]`: SPEC.md's output, replays, dry runs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gapwatch.models import AuditEvent, Flag
from tests.support import D, event, load, person_and_case, region


@pytest.fixture
def released(session):
    """C-1 leaves HMP Hewell on 10 June 2026; WMIDS was asked but has not answered."""
    region(session)
    person_and_case(session, expected_release_on=D("2026-06-10"), risk_level="high")
    load(session,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody",
               officer="A. Officer"),
         event("C-1", "2026-05-20", "handoff_requested", from_agency="HMP-HEWELL",
               to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-10"),
         event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"))
    return session


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["scan", *args])
    return result


def count(session, model) -> int:
    session.rollback()
    return session.execute(select(func.count()).select_from(model)).scalar()


def test_json_output_has_specs_shape(app, released):
    result = run(app, "--as-of", "2026-06-12", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert list(out) == ["as_of", "findings", "summary"]
    assert out["as_of"] == "2026-06-12"
    assert [(f["rule"], f["severity"], f["since"], f["notify"]) for f in out["findings"]] == [
        ("handoff-overdue", "medium", "2026-06-11", ["HMP-HEWELL", "WMIDS"]),
        ("no-accountable-owner", "critical", "2026-06-10", ["HMP-HEWELL", "WMIDS"]),
    ]
    for finding in out["findings"]:
        assert list(finding) == ["case", "rule", "subject", "severity", "since", "notify", "message"]
        assert finding["case"] == "C-1" and finding["message"]
    summary = out["summary"]
    assert list(summary) == ["cases", "findings", "opened", "resolved", "seconds"]
    assert (summary["cases"], summary["findings"], summary["opened"], summary["resolved"]) == (1, 2, 2, 0)
    assert count(released, Flag) == 2


def test_as_of_replays_an_earlier_day(app, released):
    out = json.loads(run(app, "--as-of", "2026-05-15", "--json", "--dry-run").stdout)
    # On 15 May the release was 26 days away and no supervision had been asked for yet.
    assert [(f["rule"], f["since"]) for f in out["findings"]] == [
        ("release-unplanned", "2026-05-13")]


def test_a_dry_run_changes_nothing(app, released):
    before = count(released, AuditEvent)
    out = json.loads(run(app, "--as-of", "2026-06-12", "--json", "--dry-run").stdout)
    assert out["summary"]["opened"] == 2
    assert (count(released, Flag), count(released, AuditEvent)) == (0, before)


def test_a_replay_before_the_latest_scan_changes_no_flag(app, released):
    run(app, "--as-of", "2026-06-20")
    before = count(released, AuditEvent)
    result = run(app, "--as-of", "2026-05-15", "--json")
    assert "changed no flag" in result.stderr
    assert json.loads(result.stdout)["summary"]["opened"] == 0
    assert count(released, AuditEvent) == before


def test_the_table_names_each_finding(app, released):
    result = run(app, "--as-of", "2026-06-12")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["CASE", "RULE", "SEVERITY"]
    assert any(line.startswith("C-1") and "no-accountable-owner" in line for line in lines)
    assert lines[-1].startswith("2026-06-12: 1 open cases, 2 findings, 2 opened, 0 resolved")


def test_a_day_that_does_not_parse_is_refused(app, released):
    result = run(app, "--as-of", "12/06/2026")
    assert result.exit_code == 2
    assert "'12/06/2026' is not a date (YYYY-MM-DD)" in result.stderr


def test_the_summary_alone_counts_the_findings_as_the_table_does(app, released):
    summary = run(app, "--as-of", "2026-06-12", "--summary")
    assert summary.exit_code == 0, summary.output
    assert len(summary.stdout.splitlines()) == 1  # no header, no finding
    assert summary.stdout.startswith("2026-06-12: 1 open cases, 2 findings, 2 opened, 0 resolved")
    daily = run(app, "--as-of", "2026-06-13", "--summary")  # the next day reads only cases due
    table = run(app, "--as-of", "2026-06-13", "--dry-run")
    assert daily.stdout.split(",")[1] == table.stdout.splitlines()[-1].split(",")[1] == " 2 findings"
    assert run(app, "--summary", "--json").exit_code == 2
