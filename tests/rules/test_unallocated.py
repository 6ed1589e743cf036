"""unallocated: an accountable ownership with no officer since it started, 5 days on."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "unallocated"


def supervised(world, risk="medium", officer=None):
    person_and_case(world, risk_level=risk)
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision", officer=officer))


@pytest.mark.parametrize(("day", "fires"), [
    ("2026-01-10", False), ("2026-01-14", False), ("2026-01-15", True), ("2026-03-01", True),
])
def test_fires_from_five_days_after_the_start(world, found, day, fires):
    supervised(world)
    findings = found(day, RULE)
    assert bool(findings) is fires
    for finding in findings:
        assert (finding.severity, finding.since, finding.notify) == (
            "medium", D("2026-01-15"), ("WMIDS",))


def test_is_high_for_high_risk_cases(world, found):
    supervised(world, risk="high")
    assert [f.severity for f in found("2026-01-15", RULE)] == ["high"]


def test_an_officer_named_at_the_start_allocates_it(world, found):
    supervised(world, officer="J. Smith")
    assert found("2026-03-01", RULE) == []


def test_an_officer_named_later_resolves_it_from_that_day(world, found):
    supervised(world)
    load(world, event("C-1", "2026-01-20", "officer_assigned", agency="WMIDS",
                      officer="J. Smith"))
    assert len(found("2026-01-19", RULE)) == 1
    assert found("2026-01-20", RULE) == []


def test_the_allocation_days_are_a_setting(world, found):
    supervised(world)
    assert len(found("2026-01-12", RULE, RULE_ALLOCATION_DAYS=2)) == 1
