"""Turning points: a rule's answer changes only on the days the engine names, and the look-ahead
of day `d` for day `d + k` is the scan of day `d + k` when nothing happens in between.

Random journeys, built as plain facts (no database), so hypothesis can try many of them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gapwatch.audit import plain
from gapwatch.forecast import Coming, ahead_of, coming, mark
from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.rules import Context, Contract, findings_of, next_change, rule_turns
from gapwatch.scan import Rulebook

BASE = date(2026, 1, 1)
KIND = {"HMP-A": "prison", "HMP-B": "prison", "PROB-A": "probation", "PROB-B": "probation",
        "YOS": "youth", "PROV-A": "provider", "PROV-B": "provider"}
HOLDS = [("HMP-A", "custody"), ("HMP-B", "custody"), ("PROB-A", "supervision"),
         ("PROB-B", "supervision"), ("YOS", "supervision"), ("PROV-A", "delivery"),
         ("PROV-B", "delivery")]
RULES = Rulebook.configured().rules


def day(offset: int) -> date:
    return BASE + timedelta(days=offset)


offsets = st.integers(0, 120)
maybe_days = st.one_of(st.none(), st.integers(0, 120))


@st.composite
def ownerships(draw, index: int) -> OwnershipFacts:
    agency, role = draw(st.sampled_from(HOLDS))
    starts = draw(offsets)
    lasts, allocated = draw(maybe_days), draw(st.one_of(st.none(), st.integers(0, 15)))
    return OwnershipFacts(
        index, agency, KIND[agency], role, day(starts),
        None if lasts is None else day(starts + lasts),
        None if allocated is None else "An Officer",
        None if allocated is None else day(starts + allocated))


@st.composite
def handoffs(draw, index: int, bouncing: bool) -> HandoffFacts:
    if bouncing:  # between the same two agencies, either way: ping-pong's ground
        sender, to_agency, role = draw(st.sampled_from([("HMP-A", "PROB-A", "supervision"),
                                                        ("PROB-A", "HMP-A", "custody")]))
    else:
        to_agency, role = draw(st.sampled_from(HOLDS))
        sender = draw(st.sampled_from([None, *KIND]))
    asked = draw(st.integers(0, 80) if bouncing else offsets)
    due = draw(st.one_of(st.none(), st.integers(0, 40)))
    status = draw(st.sampled_from(["accepted", "rejected"] if bouncing else
                                  ["pending", "accepted", "rejected", "withdrawn"]))
    decided = None if status == "pending" else day(asked + draw(st.integers(0, 40)))
    return HandoffFacts(index, draw(st.sampled_from(["transfer", "referral"])), role, sender,
                        to_agency, day(asked), None if due is None else day(asked + due),
                        status, decided, None, KIND[to_agency])


@st.composite
def contracts(draw) -> dict:
    found = {}
    for provider in ("PROV-A", "PROV-B"):
        items = []
        for _ in range(draw(st.integers(0, 3))):
            starts = draw(st.integers(-40, 180))
            lasts = draw(st.one_of(st.none(), st.integers(0, 120)))
            items.append(Contract(provider, draw(st.sampled_from(["PROB-A", "PROB-B"])), "ICCP",
                                  day(starts), None if lasts is None else day(starts + lasts)))
        found[provider] = tuple(items)
    return found


@st.composite
def journeys(draw) -> Journey:
    opened = draw(st.integers(0, 40))
    closes = draw(st.one_of(st.none(), st.integers(1, 220)))
    release = draw(st.one_of(st.none(), st.integers(0, 230)))
    born = draw(st.dates(date(2007, 9, 1), date(2008, 12, 31)))
    case = CaseFacts(1, "C-1", day(opened), None if closes is None else day(opened + closes),
                     draw(st.sampled_from(["low", "medium", "high", "very_high"])),
                     None if release is None else day(release), born, "PROB-A")
    held = [draw(ownerships(i)) for i in range(1, draw(st.integers(0, 4)) + 1)]
    bouncing = draw(st.booleans())
    asked = [draw(handoffs(i, bouncing)) for i in range(1, draw(st.integers(0, 7)) + 1)]
    return Journey(case, held, asked)


def on(journey: Journey, when: date, contracted: dict, index: int) -> list:
    """One rule's findings on `when`, as the scan of that day reads the journey."""
    each, thresholds = RULES[index]
    return findings_of(each, thresholds, journey.as_of(when), Context(when, contracted))


def said(findings: list) -> list:
    """What a finding says that a flag keeps (its message may name the day)."""
    return sorted((f.key, f.severity, f.since, f.notify, repr(dict(f.evidence))) for f in findings)


@settings(max_examples=300, deadline=None)
@given(journey=journeys(), contracted=contracts(), start=offsets, horizon=st.integers(1, 60))
def test_between_two_turning_points_every_rule_says_the_same(journey, contracted, start,
                                                             horizon):
    first, until = day(start), day(start + horizon)
    changes = rule_turns(journey, Context(first, contracted), RULES, until)
    for index in range(len(RULES)):
        before = said(on(journey, first, contracted, index))
        for k in range(1, horizon + 1):
            when = first + timedelta(days=k)
            now = said(on(journey, when, contracted, index))
            if index not in changes.get(when, ()):
                assert now == before, (RULES[index][0].code, when)
            before = now


@settings(max_examples=300, deadline=None)
@given(journey=journeys(), contracted=contracts(), start=offsets, horizon=st.integers(1, 45))
def test_the_look_ahead_of_a_day_is_the_scan_of_each_day_after_it(journey, contracted, start,
                                                                  horizon):
    first = day(start)
    today = {mark(f) for i in range(len(RULES)) for f in on(journey, first, contracted, i)}
    expected: dict[tuple, Coming] = {}
    for k in range(1, horizon + 1):
        when = first + timedelta(days=k)
        for i in range(len(RULES)):
            for f in on(journey, when, contracted, i):
                if mark(f) not in today:  # the forecast's evidence is JSON-native, as a flag's
                    expected.setdefault(mark(f), Coming(when, replace(f, evidence=plain(f.evidence))))
    found = coming(journey, Context(first, contracted), RULES, day(start + horizon))
    assert sorted(found, key=lambda c: mark(c.finding)) == sorted(expected.values(),
                                                                  key=lambda c: mark(c.finding))


def everything(journey: Journey, when: date, contracted: dict) -> list:
    return said([f for i in range(len(RULES)) for f in on(journey, when, contracted, i)])


@settings(max_examples=300, deadline=None)
@given(journey=journeys(), contracted=contracts(), start=offsets, horizon=st.integers(1, 20),
       later=st.integers(1, 20), further=st.integers(0, 20))
def test_what_is_kept_of_the_days_ahead_is_a_later_days_forecast(journey, contracted, start,
                                                                horizon, later, further):
    """What the forecast of day `d` up to `u` keeps holds, through the day it names, for the
    forecast of any later day whose findings are still those of `d` (its next check has not
    come): the forecast of that day up to any day by then is what was kept, up to it."""
    first = day(start)
    kept = ahead_of(journey, Context(first, contracted), RULES, day(start + horizon))
    today = everything(journey, first, contracted)
    when = first + timedelta(days=later)
    if any(everything(journey, first + timedelta(days=k), contracted) != today
           for k in range(1, later + 1)):
        return  # the findings changed by then: that day's scan reads the case again
    until = min(when + timedelta(days=1 + further), kept.through)
    if until <= when:
        return
    fresh = coming(journey, Context(when, contracted), RULES, until)
    assert sorted(fresh, key=lambda c: mark(c.finding)) == sorted(
        kept.by(until), key=lambda c: mark(c.finding))


def test_the_next_change_of_an_overdue_handoff_is_its_high_day():
    case = CaseFacts(1, "C-1", day(0), None, "medium", None, date(1990, 1, 1), "PROB-A")
    held = [OwnershipFacts(1, "HMP-A", "prison", "custody", day(0), None, "An Officer", day(0))]
    asked = [HandoffFacts(1, "transfer", "custody", "HMP-A", "HMP-B", day(1), day(10),
                          "pending", None, None, "prison")]
    journey = Journey(case, held, asked)
    assert next_change(journey, Context(day(5), {}), RULES) == day(11)  # overdue
    assert next_change(journey, Context(day(11), {}), RULES) == day(17)  # 7 days overdue: high
    assert next_change(journey, Context(day(17), {}), RULES) is None


@settings(max_examples=300, deadline=None)
@given(journey=journeys(), contracted=contracts(), start=offsets, horizon=st.integers(1, 400))
def test_the_next_change_is_the_first_of_the_turning_points(journey, contracted, start, horizon):
    """`next_change` reads only up to the journey's next own day; it must say what the first
    of all the turning points says (the daily scan stores it as the case's next check)."""
    context = Context(day(start), contracted)
    within = timedelta(days=horizon)
    assert next_change(journey, context, RULES, within) == min(
        rule_turns(journey, context, RULES, day(start) + within), default=None)
