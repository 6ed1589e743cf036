"""handoff-overdue: a pending handoff past its due day; high from 7 days overdue."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "handoff-overdue"


@pytest.fixture
def asked(world):
    person_and_case(world, expected_release_on=D("2026-06-10"))
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
               to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-10"))
    return world


@pytest.mark.parametrize(
    ("day", "severity"),
    [("2026-06-10", None), ("2026-06-11", "medium"), ("2026-06-16", "medium"),
     ("2026-06-17", "high"), ("2026-09-01", "high")],
)
def test_fires_after_the_due_day_and_rises_after_seven_days(asked, found, day, severity):
    findings = found(day, RULE)
    assert [f.severity for f in findings] == ([severity] if severity else [])
    for finding in findings:
        assert finding.since == D("2026-06-11")
        assert finding.notify == ("HMP-HEWELL", "WMIDS")
        assert finding.subject.startswith("handoff:")


def test_the_high_threshold_is_a_setting(asked, found):
    assert [f.severity for f in found("2026-06-13", RULE, RULE_OVERDUE_HIGH_DAYS=2)] == ["high"]


def test_a_decided_handoff_is_not_overdue(asked, found):
    load(asked, event("C-1", "2026-06-12", "handoff_accepted", to_agency="WMIDS"))
    assert found("2026-06-20", RULE) == []
    # ...but on the day before the decision, as it stood then, it was.
    assert [f.severity for f in found("2026-06-11", RULE)] == ["medium"]


def test_a_handoff_without_a_due_day_is_never_overdue(world, found):
    person_and_case(world)
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"),
         event("C-1", "2026-01-10", "handoff_requested", from_agency="WMIDS", to_agency="YSS",
               role="delivery", kind="referral"))
    assert found("2026-12-01", RULE) == []
