"""no-accountable-owner: fires on a day nobody holds custody or supervision."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapwatch import operations as ops
from gapwatch.queries import load_journey
from tests.support import D, act, event, load, person_and_case

RULE = "no-accountable-owner"


def released_without_handover(session, risk="medium"):
    person_and_case(session, risk_level=risk, expected_release_on=D("2026-06-10"))
    load(session,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"))


def test_fires_from_the_day_the_last_owner_ended(world, found):
    released_without_handover(world)
    assert found("2026-06-09", RULE) == []
    [finding] = found("2026-06-10", RULE)
    assert (finding.subject, finding.severity, finding.since, finding.notify) == (
        "gap:2026-06-10", "high", D("2026-06-10"), ("HMP-HEWELL", "WMIDS"))
    assert "since 10 June 2026" in finding.message and "HMP-HEWELL" in finding.message
    assert [f.since for f in found("2026-07-01", RULE)] == [D("2026-06-10")]


def test_is_critical_for_high_risk_cases(world, found):
    released_without_handover(world, risk="very_high")
    assert [f.severity for f in found("2026-06-10", RULE)] == ["critical"]


def test_a_replay_of_a_day_before_the_release_finds_no_gap(world, found):
    released_without_handover(world)
    assert found("2026-06-01", RULE) == []


def test_a_case_nobody_ever_owned_tells_the_home_area(world, found):
    person_and_case(world, opened_on=D("2026-03-01"))
    assert found("2026-02-28", RULE) == []  # not open yet
    [finding] = found("2026-03-01", RULE)
    assert (finding.since, finding.notify) == (D("2026-03-01"), ("WMIDS",))


def test_a_provider_alone_is_not_accountable(world, found):
    person_and_case(world)
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="YSS", role="delivery"))
    assert [f.since for f in found("2026-01-10", RULE)] == [D("2026-01-10")]


def test_a_closed_case_never_flags(world, found):
    released_without_handover(world)
    load(world, event("C-1", "2026-06-10", "case_closed"))
    assert found("2026-06-10", RULE) == []
    assert found("2026-08-01", RULE) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    asked=st.integers(0, 60), decided=st.integers(0, 60), due=st.one_of(st.none(), st.integers(0, 90)),
    role=st.sampled_from(["supervision", "custody"]),
)
def test_an_accepted_transfer_never_leaves_an_ownerless_day(world, found, asked, decided, due, role):
    counter = getattr(world, "_examples", 0) + 1
    world._examples = counter
    case, start = f"C-{counter}", D("2026-01-10")
    person_and_case(world, case)
    load(world, event(case, start, "ownership_started", agency="HMP-HEWELL", role="custody"))
    on = start + timedelta(days=asked)
    receiver = "WMIDS" if role == "supervision" else "HMP-LONG-LARTIN"
    act(world, ops.request_handoff, case=case, on=on, from_agency="HMP-HEWELL",
        to_agency=receiver, role=role, kind="transfer",
        due_on=on + timedelta(days=due) if due is not None else None)
    act(world, ops.accept_handoff, case=case, on=on + timedelta(days=decided), to_agency=receiver)
    journey = load_journey(world, case)
    assert journey.gaps(start, start + timedelta(days=400)) == []
    effective = max(on + timedelta(days=decided), on + timedelta(days=due or 0))
    for day in {start, effective - timedelta(days=1), effective, effective + timedelta(days=1)}:
        assert [f for f in found(day, "no-accountable-owner") if f.case == case] == []


def test_an_ownership_that_starts_and_ends_the_same_day_does_not_split_the_gap(world, found):
    """Recorded in error, it covered no day: the gap that began on 1 March goes on."""
    person_and_case(world, opened_on=D("2026-03-01"))
    load(world,
         event("C-1", "2026-03-03", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-03-03", "ownership_ended", agency="WMERCIA", reason="in error"))
    for day in ("2026-03-03", "2026-03-04"):
        [finding] = found(day, RULE)
        assert (finding.subject, finding.since, finding.notify) == (
            "gap:2026-03-01", D("2026-03-01"), ("WMIDS",))
        assert "WMERCIA" not in finding.message


def test_every_accountable_owner_that_ended_on_the_last_day_is_told(world, found):
    """A prison's custody and an area's supervision both end on 5 January: both hear of it."""
    person_and_case(world, opened_on=D("2026-01-01"), home_area="WMIDS")
    load(world,
         event("C-1", "2026-01-01", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-01-02", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-01-05", "ownership_ended", agency="HMP-HEWELL"),
         event("C-1", "2026-01-05", "ownership_ended", agency="WMERCIA"))
    [finding] = found("2026-01-05", RULE)
    assert (finding.since, finding.notify) == (D("2026-01-05"), ("HMP-HEWELL", "WMERCIA", "WMIDS"))
    assert "HMP-HEWELL's custody and WMERCIA's supervision ended on 5 January 2026" in finding.message
    assert finding.evidence["last_owners"] == [
        {"agency": "HMP-HEWELL", "role": "custody"}, {"agency": "WMERCIA", "role": "supervision"}]


def test_an_owner_that_ended_before_the_last_day_is_not_told(world, found):
    person_and_case(world, opened_on=D("2026-01-01"), home_area="WMIDS")
    load(world,
         event("C-1", "2026-01-01", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-01-02", "ownership_started", agency="WMERCIA", role="supervision"),
         event("C-1", "2026-01-04", "ownership_ended", agency="HMP-HEWELL"),
         event("C-1", "2026-01-05", "ownership_ended", agency="WMERCIA"))
    [finding] = found("2026-01-05", RULE)
    assert finding.notify == ("WMERCIA", "WMIDS")


def test_an_agency_that_accepted_the_case_from_a_later_day_is_named_with_that_day(world, found):
    """Released on 10 June with nobody taking over; on 12 June Hewell refers him to WMIDS, due
    20 June, and WMIDS accepts on 13 June: until the 20th nobody is accountable, and the flag
    says who is coming and when, so nobody reads it as nobody coming."""
    released_without_handover(world)
    load(world,
         event("C-1", "2026-06-12", "handoff_requested", from_agency="HMP-HEWELL",
               to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-20"))
    [asked] = found("2026-06-12", RULE)
    assert asked.message.endswith("HMP-HEWELL's custody ended on 10 June 2026 and nobody took over.")
    load(world, event("C-1", "2026-06-13", "handoff_accepted", to_agency="WMIDS"))
    for day in ("2026-06-13", "2026-06-19"):
        [finding] = found(day, RULE)
        assert (finding.subject, finding.severity) == ("gap:2026-06-10", "high")
        assert finding.message == (
            "Nobody is accountable for this person since 10 June 2026: HMP-HEWELL's custody "
            "ended on 10 June 2026 and nobody has taken over yet; WMIDS accepted supervision "
            "from 20 June 2026.")
    assert found("2026-06-12", RULE)[0].message == asked.message  # a replay: not accepted yet
    assert found("2026-06-20", RULE) == []
