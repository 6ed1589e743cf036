"""contract-ending: a provider's contract ends within 30 days while it still delivers."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "contract-ending"


@pytest.fixture
def mentored(world):
    """WMERCIA supervises; Connect mentors under a contract whose last day is 31 March 2026."""
    load(world, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                 "service": "Connect", "starts_on": "2025-04-01", "ends_on": "2026-03-31"})
    person_and_case(world, home_area="WMERCIA")
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-01-10", "handoff_requested", from_agency="WMERCIA",
               to_agency="CONNECT-NACRO", role="delivery", kind="referral"),
         event("C-1", "2026-01-12", "handoff_accepted", to_agency="CONNECT-NACRO"))
    return world


@pytest.mark.parametrize(("day", "severity"), [
    ("2026-02-28", None),  # 31 days before the last day
    ("2026-03-01", "medium"),  # 30 days before: the warning opens
    ("2026-03-23", "medium"),  # 8 days before
    ("2026-03-24", "high"),  # 7 days before
    ("2026-03-31", "high"),  # the last day
    ("2026-04-01", None),  # the day after: contract-lapsed's
])
def test_fires_from_30_days_before_the_last_day_through_it(mentored, found, day, severity):
    findings = found(day, RULE)
    assert [f.severity for f in findings] == ([severity] if severity else [])
    for finding in findings:
        assert (finding.since, finding.notify) == (D("2026-03-01"), ("WMERCIA", "CONNECT-NACRO"))
        assert "31 March 2026" in finding.message and finding.subject.startswith("delivery:")
    if day == "2026-04-01":
        assert [f.rule for f in found(day, "contract-lapsed")] == ["contract-lapsed"]


def test_a_renewal_that_starts_the_next_day_stops_it(mentored, found):
    load(mentored, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                    "service": "Connect", "starts_on": "2026-04-01", "ends_on": "2027-03-31"})
    assert found("2026-03-15", RULE) == []
    assert [f.since for f in found("2027-03-15", RULE)] == [D("2027-03-01")]


def test_a_renewal_after_a_break_does_not_stop_it(mentored, found):
    load(mentored, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                    "service": "Connect", "starts_on": "2026-04-02", "ends_on": None})
    assert [f.severity for f in found("2026-03-15", RULE)] == ["medium"]


def test_an_open_ended_contract_never_warns(world, found):
    person_and_case(world, home_area="WMERCIA")
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-01-10", "ownership_started", agency="YSS", role="delivery"))
    assert found("2026-02-01", RULE) == []


def test_a_delivery_that_ended_is_not_warned_about(mentored, found):
    load(mentored, event("C-1", "2026-02-20", "ownership_ended", agency="CONNECT-NACRO",
                         reason="programme finished"))
    assert found("2026-03-15", RULE) == []
