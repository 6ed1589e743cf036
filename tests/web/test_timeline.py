"""The journey picture: a pure function from a journey to SVG that reads without colour."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.web import timeline

SVG = "{http://www.w3.org/2000/svg}"
D = date.fromisoformat
TODAY = D("2026-06-20")


def case(**values) -> CaseFacts:
    base = dict(id=1, reference="C-1", opened_on=D("2026-01-10"), closed_on=None,
                risk_level="high", expected_release_on=D("2026-06-10"),
                date_of_birth=D("1990-01-01"), home_area="WMIDS")
    return CaseFacts(**{**base, **values})


def two_agencies() -> Journey:
    """Custody at Hewell until release on 10 June, a rejected transfer, a pending one, a gap."""
    return Journey(
        case(),
        [OwnershipFacts(1, "HMP-HEWELL", "prison", "custody", D("2026-01-10"), D("2026-06-10"),
                        "A. Jones")],
        [HandoffFacts(1, "transfer", "supervision", "HMP-HEWELL", "WMIDS", D("2026-05-01"),
                      D("2026-06-10"), "rejected", D("2026-05-03"), "not our area", "probation"),
         HandoffFacts(2, "transfer", "supervision", "HMP-HEWELL", "WMIDS", D("2026-05-20"),
                      D("2026-06-15"), "pending", None, None, "probation")],
    )


def twelve_agencies() -> Journey:
    """A long journey through twelve agencies, each handing on to the next, all accepted."""
    ownerships, handoffs = [], []
    start = D("2024-01-01")
    for n in range(12):
        begins, ends = start + timedelta(days=60 * n), start + timedelta(days=60 * (n + 1))
        ownerships.append(OwnershipFacts(n + 1, f"AGENCY-{n:02d}", "probation", "supervision",
                                         begins, ends if n < 11 else None, handoff_id=n or None))
        if n:
            handoffs.append(HandoffFacts(n, "transfer", "supervision", f"AGENCY-{n - 1:02d}",
                                         f"AGENCY-{n:02d}", begins - timedelta(days=10), begins,
                                         "accepted", begins - timedelta(days=5)))
    return Journey(case(opened_on=start, expected_release_on=None), ownerships, handoffs)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_the_picture_is_valid_svg_with_a_title_and_a_description():
    root = parse(timeline.render(two_agencies(), TODAY))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Journey of case C-1"
    desc = root.find(f"{SVG}desc").text
    assert "Accountable on 20 Jun 2026: nobody." in desc
    assert "Gap: nobody accountable from 10 Jun 2026 to today (11 days)." in desc


def test_a_lane_per_agency_with_its_kind():
    labels = texts(parse(timeline.render(two_agencies(), TODAY)))
    assert "HMP-HEWELL" in labels and "WMIDS" in labels and "prison" in labels


def test_the_gap_is_hatched_and_labelled_not_only_coloured():
    svg = timeline.render(two_agencies(), TODAY)
    assert 'class="gap"' in svg and "tl-hatch" in svg
    assert "GAP · 11 days" in texts(parse(svg))


def test_handoffs_differ_by_line_marker_and_label():
    svg = timeline.render(two_agencies(), TODAY)
    assert 'class="arrow arrow-refused"' in svg and 'marker-end="url(#tl-head-cross)"' in svg
    assert 'class="arrow arrow-pending"' in svg and 'marker-end="url(#tl-head-open)"' in svg
    labels = texts(parse(svg))
    assert "✗ rejected" in labels and "pending transfer" in labels


def test_today_due_and_release_are_marked():
    labels = texts(parse(timeline.render(two_agencies(), D("2026-06-12"))))
    assert "today" in labels and "release 10 Jun" in labels and "due 15 Jun" in labels


def test_an_overdue_handoff_says_so():
    labels = texts(parse(timeline.render(two_agencies(), D("2026-06-30"))))
    assert "overdue 15 Jun" in labels


def test_the_bar_says_its_role_and_officer():
    labels = texts(parse(timeline.render(two_agencies(), TODAY)))
    assert "custody · A. Jones" in labels


@pytest.mark.parametrize("journey", [two_agencies(), twelve_agencies()], ids=["2", "12"])
def test_it_scales_from_two_agencies_to_twelve(journey):
    root = parse(timeline.render(journey, TODAY))
    lanes = [r for r in root.iter(f"{SVG}rect") if r.get("class", "").startswith("lane")]
    assert len(lanes) == len(journey.agencies())
    height = float(root.get("viewBox").split()[3])
    assert height == timeline.TOP + len(lanes) * timeline.LANE + timeline.GAP_ROW
    ticks = [t for t in root.iter(f"{SVG}line") if t.get("class") == "tick"]
    assert 2 <= len(ticks) <= 13


def test_twelve_accepted_transfers_leave_no_gap():
    svg = timeline.render(twelve_agencies(), TODAY)
    assert 'class="gap"' not in svg
    assert svg.count('class="arrow arrow-accepted"') == 11


def test_the_same_journey_draws_the_same_picture():
    assert timeline.render(two_agencies(), TODAY) == timeline.render(two_agencies(), TODAY)


def test_names_are_escaped():
    journey = Journey(case(reference="C-<1>"), [OwnershipFacts(
        1, "A&B", "provider", "delivery", D("2026-01-10"), None, "<script>")], [])
    svg = timeline.render(journey, TODAY)
    parse(svg)
    assert "<script>" not in svg
