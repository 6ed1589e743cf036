"""Whose pages a unit of work's changes reach, from what it audits (`gapwatch.stamp.Reach`)."""

from __future__ import annotations

from gapwatch.stamp import MOST_CASES, Reach


def test_actions_on_cases_reach_those_cases_and_anything_else_reaches_everyone():
    reach = Reach()
    reach.note("handoff.requested", 7)
    reach.note("flag.acknowledged", 9)
    reach.told_before(["STAFFS"])
    assert (reach.everyone, reach.cases, reach.codes) == (False, {7, 9}, {"STAFFS"})
    reach.note("person.updated", 7)  # a person's details show on every case of theirs
    assert reach.everyone and not reach.cases and not reach.codes
    reach.note("handoff.accepted", 8)
    assert reach.everyone and not reach.cases  # once everyone, always everyone


def test_an_action_on_a_case_named_without_it_reaches_everyone():
    reach = Reach()
    reach.note("case.updated", None)
    assert reach.everyone


def test_more_cases_than_a_dashboard_is_worth_reach_everyone():
    reach = Reach()
    reach.include(range(MOST_CASES))
    assert not reach.everyone
    reach.note("ownership.started", MOST_CASES + 1)
    assert reach.everyone
