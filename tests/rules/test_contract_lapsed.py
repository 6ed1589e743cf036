"""contract-lapsed: a provider delivers on a day no contract with the accountable owner covers."""

from __future__ import annotations

import pytest

from tests.support import D, event, load, person_and_case

RULE = "contract-lapsed"


@pytest.fixture
def mentored(world):
    """WMERCIA supervises; Connect mentors under a contract that ends on 31 March 2026."""
    load(world, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                 "service": "Connect", "starts_on": "2025-04-01", "ends_on": "2026-03-31"})
    person_and_case(world, home_area="WMERCIA")
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-01-10", "handoff_requested", from_agency="WMERCIA",
               to_agency="CONNECT-NACRO", role="delivery", kind="referral"),
         event("C-1", "2026-01-12", "handoff_accepted", to_agency="CONNECT-NACRO"))
    return world


@pytest.mark.parametrize(("day", "fires"), [
    ("2026-01-12", False), ("2026-03-31", False), ("2026-04-01", True), ("2026-09-01", True),
])
def test_fires_from_the_day_after_the_contract_ends(mentored, found, day, fires):
    findings = found(day, RULE)
    assert bool(findings) is fires
    for finding in findings:
        assert (finding.severity, finding.since, finding.notify) == (
            "high", D("2026-04-01"), ("WMERCIA", "CONNECT-NACRO"))
        assert "31 March 2026" in finding.message


def test_a_renewed_contract_covers_it_again(mentored, found):
    load(mentored, {"type": "contract", "provider": "CONNECT-NACRO", "commissioner": "WMERCIA",
                    "service": "Connect", "starts_on": "2026-04-01", "ends_on": None})
    assert found("2026-04-01", RULE) == []


def test_a_contract_with_another_commissioner_does_not_count(world, found):
    person_and_case(world)
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"),
         event("C-1", "2026-01-10", "ownership_started", agency="YSS", role="delivery"))
    [finding] = found("2026-02-01", RULE)
    assert (finding.since, finding.notify) == (D("2026-01-10"), ("WMIDS", "YSS"))


def test_with_no_accountable_owner_any_commissioners_contract_will_do(world, found):
    person_and_case(world)
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="YSS", role="delivery"))
    assert found("2026-02-01", RULE) == []
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="CONNECT-NACRO",
                      role="delivery"))
    assert [f.notify for f in found("2026-02-01", RULE)] == [("CONNECT-NACRO",)]
