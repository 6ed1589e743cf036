"""The journey picture: its window, its markers, labels that never overlap, gaps counted as the
flags count them, and a restricted person's birthday withheld."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from itertools import combinations

import pytest

from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.rules import Context, Contract, days_open
from gapwatch.rules.no_accountable_owner import no_accountable_owner, open_gap
from gapwatch.web import timeline
from tests.support import event, load, person_and_case

SVG = "{http://www.w3.org/2000/svg}"
D = date.fromisoformat
TODAY = D("2026-06-20")
NAMES = {"HMP-HEWELL": "HMP Hewell", "WMIDS": "West Midlands Probation",
         "STAFFS": "Staffordshire Probation", "YSS": "Youth Support Services (YSS)"}


def case(**values) -> CaseFacts:
    base = dict(id=1, reference="C-1", opened_on=D("2026-01-10"), closed_on=None,
                risk_level="high", expected_release_on=D("2026-06-10"),
                date_of_birth=D("1990-01-01"), home_area="WMIDS")
    return CaseFacts(**{**base, **values})


def released_into_a_gap() -> Journey:
    """Custody at Hewell until release on 10 June, a rejected transfer, a pending one, a gap."""
    return Journey(
        case(),
        [OwnershipFacts(1, "HMP-HEWELL", "prison", "custody", D("2026-01-10"), D("2026-06-10"),
                        "A. Jones")],
        [HandoffFacts(1, "transfer", "supervision", "HMP-HEWELL", "WMIDS", D("2026-05-01"),
                      D("2026-06-10"), "rejected", D("2026-05-03"), "not our area", "probation"),
         HandoffFacts(2, "transfer", "supervision", "HMP-HEWELL", "STAFFS", D("2026-05-20"),
                      D("2026-06-25"), "pending", None, None, "probation")],
    )


def three_rejections(today: date) -> Journey:
    """WM-1010's story, tighter: WMIDS asks Staffordshire three times in a week, refused each
    time, and the release falls the day before today."""
    asked = [today - timedelta(days=n) for n in (9, 6, 3)]
    return Journey(
        case(expected_release_on=today - timedelta(days=1), opened_on=D("2025-12-01")),
        [OwnershipFacts(1, "WMIDS", "probation", "supervision", D("2025-12-01"), None, "A. Khan")],
        [HandoffFacts(n + 1, "transfer", "supervision", "WMIDS", "STAFFS", day, None, "rejected",
                      day + timedelta(days=1), "not ours", "probation")
         for n, day in enumerate(asked)],
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


def texts(svg: str) -> list[str]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]


def overlapping(picture: timeline.Picture) -> list[tuple]:
    boxes = list(zip(picture.boxes(), (s.text for s in picture.shapes if s.kind == "text"),
                     strict=True))
    return [(a[1], b[1]) for a, b in combinations(boxes, 2)
            if a[0][0] < b[0][2] and b[0][0] < a[0][2] and a[0][1] < b[0][3] and b[0][1] < a[0][3]]


# -- the picture ------------------------------------------------------------------------------------
def test_it_is_valid_svg_with_a_title_a_description_and_no_style_attribute():
    svg = timeline.render(released_into_a_gap(), TODAY, names=NAMES)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text.startswith("Journey of case C-1: the last 90 days")
    desc = root.find(f"{SVG}desc").text
    assert "Accountable on 20 June 2026: nobody." in desc
    assert "Expected to act: West Midlands Probation (WMIDS), the home area." in desc
    assert "style=" not in svg and "<style" not in svg  # the strict CSP allows neither


def test_by_default_it_shows_90_days_back_and_30_on_and_the_whole_journey_on_request():
    journey = twelve_agencies()
    picture = timeline.layout(journey, TODAY)
    assert (picture.start, picture.end) == (TODAY - timedelta(days=90), TODAY + timedelta(days=30))
    drawn = {s.text for s in picture.shapes if s.kind == "text"}
    # Only the agencies with something in the window get a lane; the rest are a click away.
    assert "AGENCY-10" not in drawn and "AGENCY-11" in drawn and picture.outside > 0
    whole = timeline.layout(journey, TODAY, whole=True)
    assert whole.start <= D("2024-01-01") and whole.end >= TODAY and whole.outside == 0
    assert {f"AGENCY-{n:02d}" for n in range(12)} <= {s.text for s in whole.shapes}
    assert sum(s.look == "head-accepted" for s in whole.shapes) == 11


def test_a_closed_case_is_shown_around_its_closing_day():
    journey = Journey(case(closed_on=D("2025-03-01"), opened_on=D("2025-01-01")), [], [])
    picture = timeline.layout(journey, TODAY)
    assert picture.end == D("2025-03-31")


def test_the_home_area_expected_to_act_gets_a_dashed_empty_lane_from_the_flags_reading():
    journey = released_into_a_gap()
    picture = timeline.layout(journey, TODAY, names=NAMES)
    [expected] = [s for s in picture.shapes if s.look == "expected"]
    gap = open_gap(journey, TODAY)
    [found] = no_accountable_owner(journey, Context(TODAY))
    assert gap.home_area == "WMIDS" and gap.home_area in found.notify and gap.since == found.since
    assert expected.at[0] == pytest.approx(timeline._Scale(picture.start, picture.end).x(gap.since))
    assert timeline.LOOKS["expected"]["dash"]
    # Somebody accountable: nobody is expected to act.
    covered = Journey(journey.case, [*journey.ownerships, OwnershipFacts(
        9, "WMIDS", "probation", "supervision", D("2026-06-10"), None, "B. Smith")], [])
    assert not [s for s in timeline.layout(covered, TODAY).shapes if s.look == "expected"]


def test_the_home_area_that_accepted_from_a_later_day_is_shown_coming_not_expected_to_act():
    # A walk found WMIDS still "expected to act (home area)" after it accepted the case from a
    # later day, in the picture, its list and its description.
    journey = released_into_a_gap()
    comes = TODAY + timedelta(days=3)
    accepted = Journey(journey.case, journey.ownerships, [*journey.handoffs, HandoffFacts(
        3, "referral", "supervision", "HMP-HEWELL", "WMIDS", TODAY, comes, "accepted", TODAY,
        None, "probation")])
    picture = timeline.layout(accepted, TODAY, names=NAMES)
    [coming] = [s for s in picture.shapes if s.look == "expected"]
    assert coming.tip == (f"West Midlands Probation (WMIDS), the home area, takes the case over "
                          f"on {comes.day} June 2026")
    said = texts(timeline.render(accepted, TODAY))
    assert "expected to act (home area)" not in said
    assert "is expected to act" not in " ".join(i.text for i in picture.items)
    assert f"takes the case over on {comes.day} June 2026" in " ".join(i.text for i in picture.items)
    assert "Expected to act" not in picture.summary and "takes over on" in picture.summary


def test_the_gap_is_counted_as_the_flag_counts_it():
    journey = released_into_a_gap()
    [found] = no_accountable_owner(journey, Context(TODAY))
    shown = (TODAY - found.since).days  # what the queues and the morning list show
    assert days_open(found.since, TODAY) == shown == 10
    assert f"GAP · {shown} days" in texts(timeline.render(journey, TODAY))
    items = timeline.layout(journey, TODAY).items
    assert any(i.kind == "gap" and f"for {shown} days, still open" in i.text for i in items)


def test_a_closed_gap_counts_its_owner_less_days():
    journey = Journey(case(), [
        OwnershipFacts(1, "HMP-HEWELL", "prison", "custody", D("2026-01-10"), D("2026-06-10")),
        OwnershipFacts(2, "WMIDS", "probation", "supervision", D("2026-06-15"), None)], [])
    assert "GAP · 5 days" in texts(timeline.render(journey, TODAY))


def test_markers_for_release_today_birthday_contract_end_and_two_owners():
    journey = Journey(
        case(date_of_birth=D("2008-06-01"), expected_release_on=D("2026-06-10")),
        [OwnershipFacts(1, "HMP-HEWELL", "prison", "custody", D("2026-01-10"), D("2026-06-10")),
         OwnershipFacts(2, "WMIDS", "probation", "supervision", D("2026-06-10"), None),
         OwnershipFacts(3, "STAFFS", "probation", "supervision", D("2026-06-12"), None),
         OwnershipFacts(4, "YSS", "provider", "delivery", D("2026-04-01"), None)], [])
    contracts = {"YSS": (Contract("YSS", "WMIDS", "ICCP", D("2025-04-01"), D("2026-06-30")),)}
    picture = timeline.layout(journey, TODAY, names=NAMES, contracts=contracts,
                              birthday=D("2026-06-01"))
    drawn = [s.text for s in picture.shapes if s.kind == "text"]
    for label in ("▼ release 10 Jun", "today 20 Jun", "18th birthday 1 Jun",
                  "contract ends 30 Jun", "2 owners of supervision from 12 Jun"):
        assert label in drawn
    assert [s for s in picture.shapes if s.look == "overlap"]
    said = " ".join(i.text for i in picture.items)
    assert "Youth Support Services (YSS)'s contract with West Midlands Probation (WMIDS)" in said
    assert "both hold supervision" in said
    # No birthday given (the viewer may not open the details): none drawn, none said.
    withheld = timeline.layout(journey, TODAY, names=NAMES, contracts=contracts)
    assert not [s for s in withheld.shapes if "birthday" in s.text + s.tip]
    assert not [i for i in withheld.items if "birthday" in i.text]


def test_a_renewed_contract_has_no_end_marked():
    journey = Journey(case(expected_release_on=None), [
        OwnershipFacts(1, "WMIDS", "probation", "supervision", D("2026-01-10"), None),
        OwnershipFacts(2, "YSS", "provider", "delivery", D("2026-04-01"), None)], [])
    contracts = {"YSS": (Contract("YSS", "WMIDS", "ICCP", D("2025-04-01"), D("2026-06-30")),
                         Contract("YSS", "WMIDS", "ICCP", D("2026-07-01"), None))}
    picture = timeline.layout(journey, TODAY, contracts=contracts)
    assert not [s for s in picture.shapes if "contract ends" in s.text]


@pytest.mark.parametrize("journey", [
    three_rejections(TODAY), released_into_a_gap(), twelve_agencies(),
    Journey(case(expected_release_on=TODAY), released_into_a_gap().ownerships,
            released_into_a_gap().handoffs),
], ids=["three-rejections", "gap", "twelve", "release-today"])
@pytest.mark.parametrize("whole", [False, True], ids=["window", "whole"])
def test_no_two_labels_overlap_and_every_label_is_inside_the_picture(journey, whole):
    picture = timeline.layout(journey, TODAY, whole=whole, names=NAMES,
                              birthday=TODAY + timedelta(days=2))
    assert overlapping(picture) == []
    for left, top, right, bottom in picture.boxes():
        assert left >= 0 and right <= picture.width and top >= 0 and bottom <= picture.height


def test_wm_1010s_three_rejections_each_get_their_label():
    drawn = [s.text for s in timeline.layout(three_rejections(TODAY), TODAY).shapes]
    assert sum(t.startswith("✗ rejected") for t in drawn) == 3
    assert "today 20 Jun" in drawn and "▼ release 19 Jun" in drawn


def test_agencies_by_name_and_names_escaped():
    journey = Journey(case(reference="C-<1>"), [OwnershipFacts(
        1, "A&B", "provider", "delivery", D("2026-05-10"), None, "<script>")], [])
    svg = timeline.render(journey, TODAY, names={"A&B": "Ants & <Bees>"})
    ET.fromstring(svg)
    assert "<script>" not in svg and "Ants &amp; &lt;Bees&gt;" in svg
    drawn = texts(timeline.render(released_into_a_gap(), TODAY, names=NAMES))
    assert "HMP Hewell" in drawn and "HMP-HEWELL · prison" in drawn
    assert "Staffordshire Probation" in drawn


def test_the_same_journey_draws_the_same_picture():
    assert timeline.render(released_into_a_gap(), TODAY) == timeline.render(
        released_into_a_gap(), TODAY)


# -- on the case page -----------------------------------------------------------------------------
def journey_section(html: str) -> str:
    return re.search(r'<section aria-labelledby="journey-h".*?</section>', html, re.S).group(0)


def test_the_case_page_shows_the_window_and_switches_to_the_whole_journey(browse, world):
    wmids = browse("wmids")
    section = journey_section(wmids.get("/cases/C-GAP").text)
    assert "The last 90 days and the next 30" in section and "?journey=whole" in section
    assert "What happened, day by day" in section and "<svg" in section
    whole = journey_section(wmids.get("/cases/C-GAP?journey=whole").text)
    assert "The whole journey" in whole
    # Anything else is the default window: the switch takes no days from the address.
    odd = journey_section(wmids.get("/cases/C-GAP?journey=1900-01-01").text)
    assert "The last 90 days and the next 30" in odd


def test_a_restricted_persons_birthday_stays_out_of_the_picture(browse, session, world):
    today = world["today"]
    soon = today + timedelta(days=20)  # the 18th birthday, inside the window
    born = soon.replace(year=soon.year - 18, day=min(soon.day, 28))
    person_and_case(session, "C-YOUNG", opened_on=world["start"], born=born, restricted=True)
    load(session, event("C-YOUNG", world["start"], "ownership_started", agency="HMP-HEWELL",
                        role="custody"))
    # Hewell holds the case: it may open the details, and sees the birthday.
    assert "18th birthday" in journey_section(browse("hewell").get("/cases/C-YOUNG").text)
    # The home area does not hold it: the page opens, the birthday is withheld.
    page = browse("wmids").get("/cases/C-YOUNG")
    assert page.status_code == 200
    assert "18th birthday" not in journey_section(page.text)
