"""The curated demo, scanned today, shows every rule; each story trips the rule it was written for."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gapwatch import clock, linking
from gapwatch.demo.journeys import STORIES
from gapwatch.rules import load_rules
from gapwatch.scan import scan


def shown(story) -> str:
    """Return the rule a story is written to show ("healthy" for none)."""
    return re.match(r"[a-z-]+", story.shows).group()


def rules_by_case(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.case, set()).add(finding.rule)
    return found


@pytest.fixture
def linked(demo):
    """The demo as `gapwatch demo` leaves it: its persons linked, the possible twins proposed."""
    linking.run(demo, on=clock.today())
    return demo


def test_the_demo_shows_every_rule_today(linked):
    result = scan(linked, clock.today())
    assert {f.rule for f in result.findings} == {r.code for r in load_rules()}
    assert result.opened == result.found


@pytest.mark.parametrize("story", [s for s in STORIES if s.rule], ids=lambda s: s.reference)
def test_each_story_trips_its_rule(linked, story):
    rule = shown(story)
    found = rules_by_case(scan(linked, clock.today(), dry_run=True))
    assert rule in found.get(story.reference, set()), story.shows


def test_healthy_stories_raise_no_gap(demo):
    found = rules_by_case(scan(demo, clock.today(), dry_run=True))
    healthy = [s.reference for s in STORIES if shown(s) == "healthy"]
    assert [r for r in healthy if "no-accountable-owner" in found.get(r, set())] == []


def test_a_replay_of_a_week_ago_shows_that_days_flags(demo):
    today = clock.today()
    then = scan(demo, today - timedelta(days=7), dry_run=True)
    now = scan(demo, today, dry_run=True)
    # WM-1001 was released six days ago: a week ago Hewell still held custody.
    assert "no-accountable-owner" not in rules_by_case(then).get("WM-1001", set())
    assert "no-accountable-owner" in rules_by_case(now)["WM-1001"]
