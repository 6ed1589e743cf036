"""The journey graph's answers: who is accountable, where the gaps are, the journey as it stood."""

from __future__ import annotations

from datetime import date

import pytest

from gapwatch.journey import CaseFacts, Gap, HandoffFacts, Journey, OwnershipFacts

D = date.fromisoformat
CASE = CaseFacts(1, "C-1", D("2026-01-10"), None, "high", D("2026-06-10"), D("1990-01-01"), "WMIDS")


def ownership(id, agency, role, starts, ends=None, **extra):
    kind = {"HMP-HEWELL": "prison", "YSS": "provider"}.get(agency, "probation")
    return OwnershipFacts(id, agency, kind, role, D(starts), D(ends) if ends else None, **extra)


def handoff(id, sender, receiver, requested, status="pending", decided=None, due=None,
            kind="transfer", role="supervision"):
    return HandoffFacts(id, kind, role, sender, receiver, D(requested), D(due) if due else None,
                        status, D(decided) if decided else None)


@pytest.fixture
def released():
    """Custody at Hewell, released on 10 June; West Midlands accepted on 3 May, due 10 June."""
    return Journey(
        CASE,
        [ownership(1, "HMP-HEWELL", "custody", "2026-01-10", "2026-06-10"),
         ownership(2, "WMIDS", "supervision", "2026-06-10", handoff_id=10),
         ownership(3, "YSS", "delivery", "2026-06-12")],
        [handoff(10, "HMP-HEWELL", "WMIDS", "2026-05-01", "accepted", "2026-05-03", "2026-06-10")],
    )


@pytest.mark.parametrize(
    ("day", "accountable"),
    [("2026-01-09", []), ("2026-01-10", ["HMP-HEWELL"]), ("2026-06-09", ["HMP-HEWELL"]),
     ("2026-06-10", ["WMIDS"]), ("2026-12-01", ["WMIDS"])],
)
def test_who_is_accountable_on_a_day(released, day, accountable):
    assert [o.agency for o in released.accountable_on(D(day))] == accountable


def test_delivery_is_never_accountable(released):
    assert [o.agency for o in released.active_on(D("2026-06-12"))] == ["WMIDS", "YSS"]
    assert [o.agency for o in released.accountable_on(D("2026-06-12"))] == ["WMIDS"]


def test_an_accepted_transfer_leaves_no_gap(released):
    assert released.gaps(D("2026-01-10"), D("2026-12-31")) == []


def test_gaps_are_the_owner_less_intervals_clipped_to_the_range_and_the_case():
    journey = Journey(
        CASE,
        [ownership(1, "HMP-HEWELL", "custody", "2026-01-20", "2026-03-01"),
         ownership(2, "WMIDS", "supervision", "2026-03-05", "2026-04-01")],
        [],
    )
    assert journey.gaps(D("2026-01-01"), D("2026-05-01")) == [
        Gap(D("2026-01-10"), D("2026-01-20")),
        Gap(D("2026-03-01"), D("2026-03-05")),
        Gap(D("2026-04-01"), D("2026-05-01")),
    ]
    assert journey.gaps(D("2026-02-01"), D("2026-03-02")) == [Gap(D("2026-03-01"), D("2026-03-02"))]
    assert journey.gaps(D("2026-05-01"), D("2026-05-01")) == []


def test_the_journey_as_it_stood_ignores_what_happened_later(released):
    before_acceptance = released.as_of(D("2026-05-02"))
    assert [h.status for h in before_acceptance.handoffs] == ["pending"]
    assert [o.agency for o in before_acceptance.ownerships] == ["HMP-HEWELL"]
    assert before_acceptance.ownerships[0].ends_on is None  # the release had not happened
    assert released.as_of(D("2026-04-30")).handoffs == ()
    accepted = released.as_of(D("2026-05-03"))
    assert [h.status for h in accepted.handoffs] == ["accepted"]
    assert [o.agency for o in accepted.accountable_on(D("2026-05-03"))] == ["HMP-HEWELL"]


def test_as_of_hides_a_later_closure_and_a_later_officer():
    journey = Journey(
        CaseFacts(1, "C-1", D("2026-01-10"), D("2026-09-30"), "low", None, D("1990-01-01"), None),
        [ownership(1, "WMIDS", "supervision", "2026-01-10", "2026-09-30", officer="J. Smith",
                   allocated_on=D("2026-02-01"))],
        [],
    )
    earlier = journey.as_of(D("2026-01-20"))
    assert earlier.case.closed_on is None and earlier.case.is_open_on(D("2026-01-20"))
    assert earlier.ownerships[0].officer is None
    assert journey.as_of(D("2026-02-01")).ownerships[0].officer == "J. Smith"


def test_the_graph_links_ownerships_through_their_handoffs(released):
    graph = released.graph
    assert graph.has_edge(("ownership", 1), ("ownership", 2), key=10)
    assert graph.nodes[("ownership", 3)]["role"] == "delivery"


def test_unanswered_handoffs_point_at_a_request_node():
    journey = Journey(
        CASE,
        [ownership(1, "HMP-HEWELL", "custody", "2026-01-10")],
        [handoff(7, "HMP-HEWELL", "WMIDS", "2026-05-01", "rejected", "2026-05-02"),
         handoff(8, None, "YSS", "2026-05-01", kind="referral", role="delivery")],
    )
    graph = journey.graph
    assert graph.has_edge(("ownership", 1), ("request", 7))
    assert graph.edges[("ownership", 1), ("request", 7), 7]["status"] == "rejected"
    assert graph.has_edge(("intake", "C-1"), ("request", 8))
    assert journey.agencies() == ["HMP-HEWELL", "WMIDS", "YSS"]


def test_effective_on_is_the_later_of_decision_and_due_day():
    assert handoff(1, "A", "B", "2026-05-01", "accepted", "2026-05-03", "2026-06-10").effective_on == D("2026-06-10")
    assert handoff(1, "A", "B", "2026-05-01", "accepted", "2026-06-12", "2026-06-10").effective_on == D("2026-06-12")
    assert handoff(1, "A", "B", "2026-05-01", "accepted", "2026-05-03").effective_on == D("2026-05-03")
    assert handoff(1, "A", "B", "2026-05-01").effective_on is None


def test_an_ownership_that_starts_and_ends_the_same_day_covers_no_day():
    journey = Journey(
        CASE,
        [ownership(1, "HMP-HEWELL", "custody", "2026-01-10", "2026-02-01"),
         ownership(2, "WMIDS", "supervision", "2026-02-03", "2026-02-03")],
        [],
    )
    assert journey.gaps(D("2026-01-10"), D("2026-02-10")) == [Gap(D("2026-02-01"), D("2026-02-10"))]
    assert journey.accountable_on(D("2026-02-03")) == []
    assert [o.agency for o in journey.last_accountable(D("2026-02-05"))] == ["HMP-HEWELL"]


def test_the_last_accountable_owners_are_all_those_that_ended_on_the_latest_day():
    journey = Journey(
        CASE,
        [ownership(1, "HMP-HEWELL", "custody", "2026-01-10", "2026-03-01"),
         ownership(2, "WMERCIA", "supervision", "2026-01-12", "2026-02-20"),
         ownership(3, "WMIDS", "supervision", "2026-02-20", "2026-03-01")],
        [],
    )
    assert journey.last_accountable(D("2026-02-28")) == [journey.ownerships[1]]
    assert [o.agency for o in journey.last_accountable(D("2026-03-01"))] == ["HMP-HEWELL", "WMIDS"]
    assert journey.last_accountable(D("2026-01-20")) == []
