"""What a case manager sees and does in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_accepting_a_waiting_handoff_takes_it_off_the_queue(page, live):
    sign_in(page, live, "wmids")
    waiting = page.locator("section#waiting")
    expect(waiting.get_by_role("link", name="C-WAIT")).to_be_visible()
    waiting.get_by_label("Officer for C-WAIT").fill("J. Smith")
    waiting.get_by_role("button", name="Accept C-WAIT").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Accepted: WMIDS takes supervision")
    expect(page.locator("section#waiting").get_by_role("link", name="C-WAIT")).to_have_count(0)
    page.goto(f"{live}/cases/C-WAIT")
    expect(page.locator("#today-h + ul")).to_contain_text("WMIDS")
    expect(page.locator("#today-h + ul")).to_contain_text("J. Smith")


def test_rejecting_a_handoff_needs_and_keeps_a_reason(page, live):
    sign_in(page, live, "wmids")
    waiting = page.locator("section#waiting")
    waiting.locator("summary", has_text="Reject").click()
    waiting.get_by_label("Why (the sender will read this)").fill("Not our area: lives in Stafford")
    waiting.get_by_role("button", name="Reject C-WAIT").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Rejected the handoff of case C-WAIT")
    expect(page.locator("section#waiting").get_by_role("link", name="C-WAIT")).to_have_count(0)
    page.goto(f"{live}/cases/C-WAIT")
    row = page.locator("#handoffs-h ~ table tbody tr").first
    expect(row).to_contain_text("rejected")
    expect(row).to_contain_text("Not our area: lives in Stafford")


def test_a_flag_is_seen_on_the_dashboard_and_acknowledged_on_the_case(page, live):
    sign_in(page, live, "wmids")
    flags = page.locator("section#flags")
    expect(flags).to_contain_text("no-accountable-owner")
    flags.get_by_role("link", name="C-GAP").click()
    expect(page).to_have_url(re.compile(r"/cases/C-GAP"))
    expect(page.get_by_text("Nobody is accountable for this person today.")).to_be_visible()
    flag = page.locator("li.gw-flag", has_text="no-accountable-owner")
    flag.locator("summary").click()
    flag.get_by_label("Note (what you are doing about it)").fill("Duty officer calling the hostel")
    flag.get_by_role("button", name="Acknowledge for WMIDS").click()
    expect(page.get_by_role("status", name="Done")).to_contain_text("Acknowledged the no-accountable-owner flag")
    expect(page.locator("li.gw-flag", has_text="no-accountable-owner")).to_contain_text(
        "You (WMIDS) are on it: Duty officer calling the hostel")
    page.goto(f"{live}/")
    expect(page.locator("section#flags")).not_to_contain_text("C-GAP")


def test_another_agencys_case_is_not_found(page, live):
    sign_in(page, live, "wmids")
    response = page.goto(f"{live}/cases/C-STAFFS")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.get_by_label("Find a case by reference or name").fill("C-STAFFS")
    page.keyboard.press("Enter")
    expect(page.locator("table")).to_contain_text("No cases match")


def test_a_form_posted_without_its_csrf_token_is_refused(page, live):
    sign_in(page, live, "wmids")
    form = page.locator("section#waiting td form[method=post]").first
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(re.compile(r"/accept$")) as answer:
        form.get_by_role("button", name="Accept C-WAIT").click()
    assert answer.value.status == 400
    expect(page.get_by_role("heading", name="Form expired")).to_be_visible()
    page.goto(f"{live}/")
    expect(page.locator("section#waiting").get_by_role("link", name="C-WAIT")).to_be_visible()


def test_filtering_a_queue_replaces_only_that_queue(page, live):
    sign_in(page, live, "wmids")
    page.locator("#waiting-q").fill("no such case")
    page.locator("#waiting-q").press("Enter")
    expect(page.locator("section#waiting")).to_contain_text("Nothing waiting matching")
    assert page.url == f"{live}/"  # HTMX swapped the section; the page stayed
    expect(page.locator("section#flags")).to_be_visible()
