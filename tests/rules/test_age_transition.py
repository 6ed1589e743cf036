"""age-transition: a youth service supervises someone turning 18 with no adult service lined up."""

from __future__ import annotations

import pytest

from gapwatch.rules.age_transition import eighteenth_birthday
from tests.support import D, event, load, person_and_case

RULE = "age-transition"


@pytest.fixture
def young(world):
    """Supervised by the Worcestershire youth service; turns 18 on 1 September 2026."""
    person_and_case(world, born=D("2008-09-01"), home_area="WMERCIA")
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="YOS-WORCS",
                      role="supervision", officer="Y. Worker"))
    return world


@pytest.mark.parametrize(
    ("day", "severity"),
    [("2026-06-02", None), ("2026-06-03", "medium"), ("2026-08-31", "medium"),
     ("2026-09-01", "high"), ("2027-01-01", "high")],
)
def test_fires_within_ninety_days_of_the_birthday_and_rises_at_eighteen(young, found, day, severity):
    findings = found(day, RULE)
    assert [f.severity for f in findings] == ([severity] if severity else [])
    for finding in findings:
        assert (finding.since, finding.notify) == (D("2026-06-03"), ("YOS-WORCS", "WMERCIA"))


@pytest.mark.parametrize(("decision", "fires"), [
    (None, False),
    (event("C-1", "2026-07-02", "handoff_accepted", to_agency="WMERCIA"), False),
    (event("C-1", "2026-07-02", "handoff_rejected", to_agency="WMERCIA", reason="too early"), True),
])
def test_a_pending_or_accepted_handoff_to_adult_probation_lines_it_up(young, found, decision, fires):
    load(young, event("C-1", "2026-07-01", "handoff_requested", from_agency="YOS-WORCS",
                      to_agency="WMERCIA", role="supervision", kind="referral",
                      due_on="2026-09-01"))
    if decision:
        load(young, decision)
    assert bool(found("2026-07-10", RULE)) is fires


def test_an_adult_probation_area_supervising_does_not_fire(world, found):
    person_and_case(world, born=D("2008-09-01"))
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision"))
    assert found("2026-09-01", RULE) == []


def test_the_window_is_a_setting(young, found):
    assert found("2026-05-01", RULE) == []
    assert len(found("2026-05-01", RULE, RULE_AGE_WINDOW_DAYS=130)) == 1


@pytest.mark.parametrize(("born", "adult"), [
    ("2008-09-01", "2026-09-01"), ("2008-02-29", "2026-03-01"), ("2010-02-28", "2028-02-28"),
])
def test_eighteenth_birthday(born, adult):
    assert eighteenth_birthday(D(born)) == D(adult)


@pytest.mark.parametrize(("day", "said"), [("2026-08-01", "turns 18 within 90 days"),
                                           ("2026-09-02", "is 18 or over")])
def test_a_restricted_persons_flag_names_no_birthday(world, found, day, said):
    """The message reaches every agency told, and only some may open the person's details."""
    person_and_case(world, born=D("2008-09-01"), home_area="WMERCIA", restricted=True)
    load(world, event("C-1", "2026-01-10", "ownership_started", agency="YOS-WORCS",
                      role="supervision", officer="Y. Worker"))
    [finding] = found(day, RULE)
    assert said in finding.message and "2026-09-01" not in finding.message
    assert "1 September 2026" not in finding.message
