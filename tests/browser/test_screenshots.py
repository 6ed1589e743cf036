"""Screenshots of a busy morning for the docs: the dashboard, a case page, a long journey.

Saved in test-artifacts/ (dashboard.png, case.png, journey-12.png); docs/images/ holds copies.
The test also checks what the pictures must show, so a broken page cannot pass as a picture.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gapwatch.scan import scan
from tests.browser.conftest import screenshot, sign_in
from tests.support import event, load

pytestmark = pytest.mark.browser

PEOPLE = [
    ("C-1042", "Jordan", "Hale", 34, "high", "HMP-HEWELL"),
    ("C-1107", "Aisha", "Rahman", 27, "medium", "HMP-LONG-LARTIN"),
    ("C-1188", "Liam", "O'Connor", 41, "very_high", "HMP-LONG-LARTIN"),
    ("C-1203", "Priya", "Shah", 23, "low", "HMP-HEWELL"),
    ("C-1250", "Marcus", "Bell", 30, "medium", "STAFFS"),
]
EXTRA_AGENCIES = [("HMP-BIRMINGHAM", "HMP Birmingham", "prison"),
                  ("HMP-FEATHERSTONE", "HMP Featherstone", "prison"),
                  ("NACRO-HOUSING", "Nacro housing support", "provider")]


def person(reference, given, family, born, home="WMIDS", restricted=False):
    return [
        {"type": "person", "reference": f"P-{reference}", "given_name": given,
         "family_name": family, "date_of_birth": born.isoformat(), "home_area": home,
         "restricted": restricted},
    ]


def case(reference, opened, risk, release=None):
    return {"type": "case", "reference": reference, "person": f"P-{reference}",
            "opened_on": opened.isoformat(), "risk_level": risk,
            "expected_release_on": release.isoformat() if release else None}


@pytest.fixture
def busy_morning(session, world):
    """Waiting handoffs (one overdue), one sent, flags of each kind, a young person's journey."""
    t = world["today"]
    ago = lambda n: t - timedelta(days=n)  # noqa: E731
    records = [{"type": "agency", "code": c, "name": n, "kind": k, "region": "West Midlands"}
               for c, n, k in EXTRA_AGENCIES]
    for n, (ref, given, family, age, risk, holder) in enumerate(PEOPLE):
        born = t.replace(year=t.year - age) - timedelta(days=40 + n)
        records += person(ref, given, family, born)
        records.append(case(ref, ago(200 + n), risk, release=t + timedelta(days=12 - 9 * n)))
        records.append(event(ref, ago(200 + n), "ownership_started", agency=holder,
                             role="custody" if holder.startswith("HMP") else "supervision"))
        records.append(event(ref, ago(40 - n), "handoff_requested", from_agency=holder,
                             to_agency="WMIDS", role="supervision", kind="transfer",
                             due_on=t + timedelta(days=12 - 9 * n)))
    # A young person: youth service, a provider, a rejected transfer, a gap, then WMIDS.
    born = t.replace(year=t.year - 18) + timedelta(days=30)
    records += person("C-2077", "Tyler", "Morgan", born)
    records += [
        case("C-2077", ago(300), "high"),
        event("C-2077", ago(300), "ownership_started", agency="YOS-WORCS", role="supervision",
              officer="R. Patel"),
        event("C-2077", ago(280), "handoff_requested", from_agency="YOS-WORCS", to_agency="YSS",
              role="delivery", kind="referral"),
        event("C-2077", ago(278), "handoff_accepted", to_agency="YSS", officer="K. Doyle"),
        event("C-2077", ago(90), "handoff_requested", from_agency="YOS-WORCS",
              to_agency="WMERCIA", role="supervision", kind="transfer", due_on=ago(30)),
        event("C-2077", ago(80), "handoff_rejected", to_agency="WMERCIA",
              reason="Lives in Birmingham: a WMIDS case"),
        event("C-2077", ago(75), "handoff_requested", from_agency="YOS-WORCS", to_agency="WMIDS",
              role="supervision", kind="transfer", due_on=ago(40)),
        event("C-2077", ago(40), "ownership_ended", agency="YOS-WORCS", reason="order ended"),
        event("C-2077", ago(20), "handoff_accepted", to_agency="WMIDS"),
        event("C-2077", ago(5), "handoff_requested", from_agency="WMIDS",
              to_agency="CONNECT-NACRO", role="delivery", kind="referral",
              due_on=t + timedelta(days=7)),
    ]
    # Twelve agencies, one after another: the picture must still read.
    chain = ["HMP-BIRMINGHAM", "HMP-HEWELL", "HMP-FEATHERSTONE", "HMP-LONG-LARTIN", "STAFFS",
             "WARKS", "WMERCIA", "NACRO-HOUSING", "WMIDS", "YSS", "CONNECT-NACRO", "YOS-WORCS"]
    records += person("C-3001", "Dana", "Whitfield", t.replace(year=t.year - 39))
    records.append(case("C-3001", ago(720), "medium"))
    records.append(event("C-3001", ago(720), "ownership_started", agency=chain[0], role="custody"))
    accountable = chain[0]
    for n, agency in enumerate(chain[1:], start=1):
        day = ago(720 - 60 * n)
        role = "delivery" if agency in {"NACRO-HOUSING", "YSS", "CONNECT-NACRO"} else (
            "custody" if agency.startswith("HMP") else "supervision")
        kind = "referral" if role == "delivery" else "transfer"
        records.append(event("C-3001", day, "handoff_requested", from_agency=accountable,
                             to_agency=agency, role=role, kind=kind))
        records.append(event("C-3001", day + timedelta(days=3), "handoff_accepted",
                             to_agency=agency))
        if role != "delivery":
            accountable = agency
    load(session, *records)
    scan(session, t)
    return world


# SQLite only: the pictures do not depend on the database, and both halves would write the same
# files in test-artifacts/ at the same time from two workers.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_screenshots_of_a_busy_morning(page, live, busy_morning):
    sign_in(page, live, "wmids")
    waiting = page.locator("section#waiting")
    expect(waiting.get_by_role("link", name="C-1042")).to_be_visible()
    expect(waiting).to_contain_text("late")
    expect(page.locator("section#flags")).to_contain_text("unallocated")
    screenshot(page, "dashboard")
    page.goto(f"{live}/cases/C-2077")
    expect(page.locator("svg.tl")).to_contain_text("GAP · 20 days")
    expect(page.locator("svg.tl")).to_contain_text("✗ rejected")
    expect(page.get_by_text("18th birthday", exact=True)).to_be_visible()
    screenshot(page, "case")
    page.goto(f"{live}/cases/C-3001?journey=whole")
    lanes = page.locator("svg.tl rect.tl-lane, svg.tl rect.tl-lane-alt")
    expect(lanes).to_have_count(12)
    page.locator("section.journey").screenshot(path=str(screenshot(page, "journey-12-page")
                                                        .with_name("journey-12.png")))
