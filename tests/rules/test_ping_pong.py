"""ping-pong: three or more decided handoffs between two agencies within 90 days."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "ping-pong"


@pytest.fixture
def bounced(world):
    """WMIDS asks STAFFS to take the case three times; STAFFS rejects on 2, 11 and 21 March."""
    person_and_case(world)
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision", officer="J. Smith"))
    for asked, decided in [("03-01", "03-02"), ("03-10", "03-11"), ("03-20", "03-21")]:
        load(world,
             event("C-1", f"2026-{asked}", "handoff_requested", from_agency="WMIDS",
                   to_agency="STAFFS", role="supervision", kind="transfer"),
             event("C-1", f"2026-{decided}", "handoff_rejected", to_agency="STAFFS",
                   reason="lives in Wolverhampton"))
    return world


@pytest.mark.parametrize(("day", "fires"), [
    ("2026-03-20", False), ("2026-03-21", True), ("2026-05-31", True), ("2026-06-01", False),
])
def test_fires_while_three_decisions_are_within_ninety_days(bounced, found, day, fires):
    findings = found(day, RULE)
    assert bool(findings) is fires
    for finding in findings:
        assert (finding.subject, finding.severity, finding.since, finding.notify) == (
            "pair:STAFFS+WMIDS", "medium", D("2026-03-21"), ("STAFFS", "WMIDS"))


def test_either_direction_counts(bounced, found):
    load(bounced,
         event("C-1", "2026-04-01", "handoff_requested", from_agency="WMIDS",
               to_agency="STAFFS", role="supervision", kind="transfer"),
         event("C-1", "2026-04-02", "handoff_accepted", to_agency="STAFFS"),
         event("C-1", "2026-04-05", "handoff_requested", from_agency="STAFFS",
               to_agency="WMIDS", role="supervision", kind="transfer"),
         event("C-1", "2026-04-06", "handoff_accepted", to_agency="WMIDS"))
    # 2 March has left the window on 1 June, but 11 and 21 March, 2 and 6 April remain.
    [finding] = found("2026-06-01", RULE)
    assert len(finding.evidence["handoffs"]) == 4


def test_two_bounces_are_not_ping_pong(world, found):
    person_and_case(world)
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision"))
    for asked, decided in [("03-01", "03-02"), ("03-10", "03-11")]:
        load(world,
             event("C-1", f"2026-{asked}", "handoff_requested", from_agency="WMIDS",
                   to_agency="STAFFS", role="supervision", kind="transfer"),
             event("C-1", f"2026-{decided}", "handoff_rejected", to_agency="STAFFS",
                   reason="no"))
    assert found("2026-03-20", RULE) == []


def test_the_window_is_a_setting(bounced, found):
    assert found("2026-04-10", RULE, RULE_BOUNCE_WINDOW_DAYS=10) == []
