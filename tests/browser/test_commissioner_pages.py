"""The contract pages and Coming up, in chromium on the curated demo region: axe at two widths,
and the pictures for the user guide (test-artifacts/contract.png and coming-up.png; docs/images/
holds copies)."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.models import Agency, Contract
from gapwatch.scan import scan
from tests.browser.conftest import axe_violations, screenshot
from tests.support import act

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ACCOUNTS = {"WMERCIA": "spo@westmercia.example", "STAFFS": "spo@staffordshire.example",
            None: "inspector@hmip.example"}
WIDTHS = (1280, 390)


@pytest.fixture
def region(app, demo):
    """The curated demo, scanned today, served on a free port, with its accounts."""
    for agency, email in ACCOUNTS.items():
        act(demo, ops.add_user, email=email, role="case_manager" if agency else "auditor",
            password=PASSWORD, agency=agency)
    scan(demo, clock.today())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def as_user(page, live: str, agency: str | None) -> None:
    page.context.clear_cookies()
    page.goto(f"{live}/login")
    page.get_by_label("Email").fill(ACCOUNTS[agency])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live}/")


def sova(session) -> int:
    """SOVA's Connect mentoring for West Mercia: it lapsed twenty days ago (WM-1007)."""
    return session.execute(select(Contract.id).join(Agency, Agency.id == Contract.provider_id)
                           .where(Agency.code == "CONNECT-SOVA")).scalar_one()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_contract_pages_and_coming_up_pass_axe(page, region, demo, width):
    page.set_viewport_size({"width": width, "height": 900})
    found = []
    as_user(page, region, "WMERCIA")
    for path in ["/contracts", f"/contracts/{sova(demo)}", "/coming-up"]:
        page.goto(region + path)
        found += axe_violations(page)
    as_user(page, region, "STAFFS")
    page.goto(f"{region}/coming-up")
    expect(page.locator("main")).to_contain_text("WM-1038")
    found += axe_violations(page)
    if width < 700:
        # On a phone each item is a stacked row, its day on a line of its own: squeezed into
        # five columns, "December" broke letter by letter.
        day = page.locator(".coming-week td[data-label='Day']").first
        assert day.evaluate("cell => getComputedStyle(cell).display") == "block"
        assert day.bounding_box()["width"] > width / 2
    as_user(page, region, None)
    for path in ["/coming-up", "/coming-up?agency=STAFFS", "/contracts"]:
        page.goto(region + path)
        found += axe_violations(page)
    assert not found, "axe-core found:\n" + "\n".join(found)


# SQLite only: the pictures do not depend on the database (as tests/browser/test_screenshots.py).
@pytest.mark.parametrize("backend", ["sqlite"])
def test_pictures_of_a_contract_and_of_coming_up(page, region, demo):
    page.set_viewport_size({"width": 1280, "height": 900})
    as_user(page, region, "WMERCIA")
    page.goto(f"{region}/contracts/{sova(demo)}")
    expect(page.locator("svg#past-end")).to_be_visible()
    expect(page.locator("#past-end-table")).to_contain_text("20")
    screenshot(page, "contract")
    as_user(page, region, "STAFFS")
    page.get_by_role("link", name="Coming up").click()
    expect(page.locator("main")).to_contain_text("Renew the contract")
    screenshot(page, "coming-up")


def test_a_commissioner_chooses_the_range_in_three_boxes(page, region, demo):
    """The range is typed as GOV.UK's day, month and year boxes (no browser date picker, whose
    order follows the browser's locale), and a range running backwards is refused in words."""
    page.set_viewport_size({"width": 390, "height": 900})
    as_user(page, region, "WMERCIA")
    page.goto(f"{region}/contracts/{sova(demo)}")
    start = page.get_by_role("group", name="From")
    start.get_by_label("Day").fill("1")
    start.get_by_label("Month").fill("4")
    start.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("1 April 2025 to")
    expect(page.get_by_role("group", name="From").get_by_label("Month")).to_have_value("4")
    start = page.get_by_role("group", name="From")
    start.get_by_label("Year").fill("2099")
    page.get_by_role("button", name="Show").click()
    # Refused in place: the summary links to the field, which keeps what was typed.
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("is after To")
    summary.get_by_role("link").click()
    expect(page.locator("#r-from-day")).to_be_focused()
    expect(page.get_by_role("group", name="From").get_by_label("Year")).to_have_value("2099")
    assert not axe_violations(page)
