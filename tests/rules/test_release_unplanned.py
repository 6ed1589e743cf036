"""release-unplanned: custody, release within 28 days, and no supervision handoff asked for."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "release-unplanned"


@pytest.fixture
def in_custody(world):
    person_and_case(world, expected_release_on=D("2026-06-10"))
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                      role="custody", officer="A. Officer"))
    return world


@pytest.mark.parametrize(
    ("day", "fires"),
    [("2026-05-12", False), ("2026-05-13", True), ("2026-06-10", True), ("2026-06-11", False)],
)
def test_fires_within_the_window_counting_both_ends(in_custody, found, day, fires):
    findings = found(day, RULE)
    assert bool(findings) is fires
    for finding in findings:
        assert (finding.severity, finding.since, finding.notify) == (
            "high", D("2026-05-13"), ("HMP-HEWELL", "WMIDS"))


def test_the_window_is_a_setting(in_custody, found):
    assert found("2026-05-01", RULE) == []
    assert len(found("2026-05-01", RULE, RULE_RELEASE_WINDOW_DAYS=40)) == 1


@pytest.mark.parametrize(("decision", "fires"), [
    (None, False),  # pending
    (event("C-1", "2026-05-02", "handoff_accepted", to_agency="WMIDS"), False),
    (event("C-1", "2026-05-02", "handoff_rejected", to_agency="WMIDS", reason="not ours"), True),
    (event("C-1", "2026-05-02", "handoff_withdrawn", to_agency="WMIDS"), True),
])
def test_a_pending_or_accepted_supervision_handoff_plans_the_release(in_custody, found, decision, fires):
    load(in_custody, event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
                           to_agency="WMIDS", role="supervision", kind="referral",
                           due_on="2026-06-10"))
    if decision:
        load(in_custody, decision)
    assert bool(found("2026-05-20", RULE)) is fires


def test_a_handoff_requested_after_the_day_does_not_count_yet(in_custody, found):
    load(in_custody, event("C-1", "2026-05-25", "handoff_requested", from_agency="HMP-HEWELL",
                           to_agency="WMIDS", role="supervision", kind="referral"))
    assert len(found("2026-05-24", RULE)) == 1
    assert found("2026-05-25", RULE) == []


def test_no_custody_no_flag(world, found):
    person_and_case(world, expected_release_on=D("2026-06-10"))
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision"))
    assert found("2026-06-01", RULE) == []
