"""dual-ownership: two agencies hold the same accountable role for 7 days or more."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "dual-ownership"


@pytest.fixture
def doubled(world):
    """WMIDS supervises from 10 January; STAFFS reports supervision from 1 February."""
    person_and_case(world)
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"),
         event("C-1", "2026-02-01", "ownership_started", agency="STAFFS", role="supervision"))
    return world


@pytest.mark.parametrize(("day", "fires"), [
    ("2026-01-31", False), ("2026-02-06", False), ("2026-02-07", True), ("2026-05-01", True),
])
def test_fires_on_the_seventh_shared_day(doubled, found, day, fires):
    findings = found(day, RULE)
    assert bool(findings) is fires
    for finding in findings:
        assert (finding.severity, finding.since, finding.notify) == (
            "medium", D("2026-02-07"), ("WMIDS", "STAFFS"))


def test_ending_one_of_them_resolves_it(doubled, found):
    load(doubled, event("C-1", "2026-02-10", "ownership_ended", agency="STAFFS"))
    assert len(found("2026-02-09", RULE)) == 1
    assert found("2026-02-10", RULE) == []


def test_custody_and_supervision_together_are_not_dual(world, found):
    person_and_case(world)
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"))
    assert found("2026-03-01", RULE) == []


def test_the_overlap_is_a_setting(doubled, found):
    assert len(found("2026-02-02", RULE, RULE_OVERLAP_DAYS=2)) == 1
