"""The seed's stories, walked in chromium on the demo region, from the flag to a named owner.

Each story is acted on by the agency that should act, through the morning list and the case
page, at a desk's width (1280 px) and a phone's (390 px), and the flag is gone from the page at once, with no scan in between. The wrong agencies
are shown no step they may not take: a provider is never offered supervision, custody or
closing a case.
"""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.scan import scan
from tests.support import act

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ACCOUNTS = {  # agency: the case manager who signs in for it
    "WMIDS": "spo@westmidlands.example",
    "HMP-HEWELL": "omu@hewell.example",
    "YOS-WORCS": "yos@worcestershire.example",
    "WMERCIA": "spo@westmercia.example",
    "STAFFS": "spo@staffordshire.example",
    "WARKS": "spo@warwickshire.example",
    "CONNECT-NACRO": "connect@nacro.example",
}


@pytest.fixture
def region(app, demo):
    """The curated demo, scanned today, served on a free port, with a case manager per agency."""
    for agency, email in ACCOUNTS.items():
        act(demo, ops.add_user, email=email, role="case_manager", password=PASSWORD,
            agency=agency)
    scan(demo, clock.today())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(params=[1280, 390], ids=["desktop", "phone"])
def page(chromium, request):
    """Each story at a desk's width and a phone's: the steps must be in reach at both."""
    context = chromium.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def as_agency(page, live: str, agency: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live}/login")
    page.get_by_label("Email").fill(ACCOUNTS[agency])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live}/")


def accountable(page, agency: str, officer: str) -> None:
    today = page.locator("#today-h + ul")
    expect(today).to_contain_text(agency)
    expect(today).to_contain_text(officer)


def test_the_home_area_takes_a_release_nobody_picked_up(page, region):
    """WM-1001: released from HMP Hewell to a home in WMIDS; nobody took supervision."""
    as_agency(page, region, "HMP-HEWELL")
    page.goto(f"{region}/cases/WM-1001")
    expect(page.get_by_role("button", name="Take supervision for HMP-HEWELL")).to_have_count(0)
    expect(page.locator("#hand-on")).to_contain_text("Ask another agency to take the case")

    as_agency(page, region, "WMIDS")
    step = page.locator("#today li", has_text="WM-1001")
    expect(step).to_contain_text("critical")
    step.get_by_label("Officer who will supervise WM-1001").fill("A. Khan")
    step.get_by_role("button", name="Take supervision of WM-1001").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("WMIDS now supervises case WM-1001")
    expect(page.locator("#today")).not_to_contain_text("WM-1001")
    page.goto(f"{region}/cases/WM-1001")
    accountable(page, "WMIDS", "A. Khan")
    expect(page.locator("#flags-h")).to_contain_text("(0)")


def test_the_youth_service_hands_on_at_18_and_adult_probation_accepts(page, region):
    """WM-1006: turned 18 with the youth service; West Mercia (the home area) takes him on."""
    as_agency(page, region, "YOS-WORCS")
    page.goto(f"{region}/cases/WM-1006")
    supervision = page.locator("#hand-on optgroup[label='supervision'] option")
    expect(supervision).not_to_have_count(0)
    for text in supervision.all_inner_texts():
        assert "CONNECT" not in text and "YSS" not in text and "HMP" not in text, text
    expect(page.locator("#hand-on optgroup[label='custody']")).to_have_count(0)
    page.locator("#hand-on").get_by_label("To agency").select_option("WMERCIA")
    page.locator("#hand-on").get_by_label("Kind").select_option("transfer")
    page.get_by_role("button", name="Ask them to take it").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Asked WMERCIA to take supervision")
    expect(page.locator("li.gw-flag", has_text="age-transition")).to_have_count(0)  # at once

    as_agency(page, region, "WMERCIA")
    step = page.locator("#today li", has_text="WM-1006")
    step.get_by_label("Officer for WM-1006").fill("D. Hall")
    step.get_by_role("button", name="Accept WM-1006").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Accepted: WMERCIA takes supervision")
    page.goto(f"{region}/cases/WM-1006")
    accountable(page, "WMERCIA", "D. Hall")


def test_the_area_ends_a_lapsed_providers_mentoring(page, region):
    """WM-1007: SOVA still mentors under a contract that ended; West Mercia ends it."""
    as_agency(page, region, "WMERCIA")
    page.goto(f"{region}/cases/WM-1007")
    expect(page.locator("li.gw-flag", has_text="contract-lapsed")).to_have_count(1)
    row = page.locator("#ownerships-h ~ table tr", has_text="CONNECT-SOVA")
    row.locator("summary", has_text="End this ownership").click()
    row.get_by_label("Why").fill("contract ended: referring to a contracted provider")
    row.get_by_role("button", name="End today").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Ended CONNECT-SOVA's delivery")
    expect(page.locator("li.gw-flag", has_text="contract-lapsed")).to_have_count(0)
    accountable(page, "WMERCIA", "P. Singh")


def test_the_last_of_four_areas_asks_the_home_area_which_takes_him(page, region):
    """WM-1033: through West Mercia, West Midlands and Staffordshire; nobody took him on."""
    as_agency(page, region, "STAFFS")
    page.goto(f"{region}/cases/WM-1033")
    expect(page.get_by_role("button", name="Take supervision for STAFFS")).to_be_visible()
    form = page.locator("#hand-on")
    expect(form.get_by_label("Kind").locator("option")).to_have_text(
        ["referral (they take it on: you hold no part of the case today)"])
    form.get_by_label("To agency").select_option("WARKS")
    form.get_by_label("Note for the receiver").fill("moved to Nuneaton")
    page.get_by_role("button", name="Ask them to take it").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Asked WARKS to take supervision")

    as_agency(page, region, "WARKS")
    step = page.locator("#today li", has_text="WM-1033")
    step.get_by_label("Officer for WM-1033").fill("E. Wright")
    step.get_by_role("button", name="Accept WM-1033").click()
    page.goto(f"{region}/cases/WM-1033")
    accountable(page, "WARKS", "E. Wright")
    expect(page.locator("li.gw-flag", has_text="no-accountable-owner")).to_have_count(0)


def test_a_provider_is_offered_no_supervision_custody_or_closing(page, region):
    as_agency(page, region, "CONNECT-NACRO")
    page.goto(f"{region}/cases/WM-1017")
    expect(page.get_by_text("Close the case")).to_have_count(0)
    expect(page.get_by_role("button", name="Take supervision")).to_have_count(0)
    expect(page.locator("optgroup[label='supervision'], optgroup[label='custody']")
           ).to_have_count(0)
    # Its own delivery it may hand to another provider, and only that.
    expect(page.locator("#hand-on optgroup")).to_have_count(1)
    expect(page.locator("#hand-on optgroup")).to_have_attribute("label", "delivery (a service)")


# SQLite only: the pictures do not depend on the database (as test_screenshots.py); it sets
# its own widths.
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("page", [1280], indirect=True, ids=["desktop"])
def test_screenshots_of_the_morning_list_and_closing_a_gap(page, region):
    from tests.browser.conftest import screenshot

    as_agency(page, region, "WMIDS")
    expect(page.locator("#today li").first).to_contain_text("WM-1001")  # the worst first
    screenshot(page, "morning")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "morning-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{region}/cases/WM-1001")
    expect(page.locator("#close-gap")).to_be_visible()
    path = screenshot(page, "close-gap-page")
    top = page.locator("section[aria-labelledby='flags-h']").bounding_box()
    bottom = page.locator("#close-gap").bounding_box()
    page.screenshot(path=str(path.with_name("close-gap.png")), full_page=True, clip={
        "x": 0, "y": top["y"] - 8, "width": 1280,
        "height": bottom["y"] + bottom["height"] - top["y"] + 16})
