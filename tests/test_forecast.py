"""The forecast: what will become a gap in the days ahead, from the journeys in the database.

The look-ahead of day `d` for day `d + k` must be what the scan of day `d + k` finds when nothing
happens in between: here checked against dry-run scans of every day of the demo region (the
forecast gives each finding's evidence as JSON-native data, as a flag keeps it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from gapwatch import clock
from gapwatch.audit import plain
from gapwatch.forecast import forecast, mark
from gapwatch.scan import scan
from tests.support import D, event, load, person_and_case, region


def test_the_forecast_is_the_dry_run_scan_of_every_day_ahead(demo):
    today = clock.today()
    seen_today = {mark(f) for f in scan(demo, today, dry_run=True).findings}
    expected = {}
    for k in range(1, 31):
        day = today + timedelta(days=k)
        for f in scan(demo, day, dry_run=True).findings:
            if mark(f) not in seen_today:
                expected.setdefault(mark(f), (day, replace(f, evidence=plain(f.evidence))))
    result = forecast(demo, today, days=30)
    assert {mark(c.finding): (c.day, c.finding) for c in result.coming} == expected
    assert expected, "the demo region has something coming in the next 30 days"
    assert [c.day for c in result.coming] == sorted(c.day for c in result.coming)


def _overdue_soon(session):
    region(session)
    person_and_case(session)
    load(session,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody",
               officer="A. Officer"),
         event("C-1", "2026-05-20", "handoff_requested", from_agency="HMP-HEWELL",
               to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-10"))


def test_a_handoff_falling_due_is_coming_and_so_is_its_turning_high(session):
    _overdue_soon(session)
    coming = [(c.day, c.finding.rule, c.finding.severity, c.finding.notify)
              for c in forecast(session, D("2026-06-01"), days=30).coming]
    assert coming == [
        (D("2026-06-11"), "handoff-overdue", "medium", ("HMP-HEWELL", "WMIDS")),
        (D("2026-06-17"), "handoff-overdue", "high", ("HMP-HEWELL", "WMIDS")),
    ]
    assert [c.day for c in forecast(session, D("2026-06-01"), days=9).coming] == []


def test_the_command_prints_the_issues_json(app, session):
    _overdue_soon(session)
    result = app.test_cli_runner().invoke(
        args=["forecast", "--as-of", "2026-06-01", "--days", "12", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"as_of": "2026-06-01", "coming": [
        {"case": "C-1", "rule": "handoff-overdue", "subject": result.output.split('"subject": "')[1]
         .split('"')[0], "severity": "medium", "day": "2026-06-11"}]}
    table = app.test_cli_runner().invoke(args=["forecast", "--as-of", "2026-06-01"])
    assert table.exit_code == 0 and "2026-06-17 C-1" in table.output


def test_the_command_refuses_a_day_that_does_not_parse(app, session):
    result = app.test_cli_runner().invoke(args=["forecast", "--as-of", "1 June"])
    assert result.exit_code != 0 and "1 June" in result.output


def test_an_agencys_forecast_reads_only_the_cases_that_could_tell_it_and_finds_the_same(demo):
    from sqlalchemy import select

    from gapwatch.models import Agency
    from gapwatch.web.coming import could_tell

    today = clock.today()
    whole = forecast(demo, today, days=30)
    for agency_id, code in demo.execute(select(Agency.id, Agency.code)).all():
        narrowed = forecast(demo, today, days=30, where=could_tell(agency_id))
        assert narrowed.for_agency(code) == whole.for_agency(code), code
        assert narrowed.cases < whole.cases, code
