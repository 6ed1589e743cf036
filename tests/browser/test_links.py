"""A prison case manager reviews a possible twin in chromium: the pair, the reasons, confirm."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations, sign_in
from tests.web.test_links import pair  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def test_a_case_manager_reviews_and_confirms_a_pair_by_keyboard(page, live, pair):  # noqa: F811
    sign_in(page, live, "hewell")
    page.get_by_role("link", name="Possible twins").click()
    found = axe_violations(page)
    page.get_by_role("link", name=f"Review pair {pair}").click()
    expect(page.get_by_role("heading", name="Are these one person?")).to_be_visible()
    expect(page.get_by_role("img", name="Match weight, from the prior")).to_be_visible()
    expect(page.get_by_role("cell", name="day and month transposed")).to_be_visible()
    found += axe_violations(page)
    page.get_by_label("Note (what you checked)").fill("same prison number on both files")
    page.get_by_role("button", name="Confirm: one person").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status", name="Done")).to_contain_text("Linked")
    page.goto(f"{live}/cases/C-HIDDEN")
    expect(page.get_by_text("Linked records")).to_be_visible()
    found += axe_violations(page)
    assert not found, "axe-core found:\n" + "\n".join(found)


def test_the_restricted_side_stays_withheld_in_the_browser(page, live, pair):  # noqa: F811
    sign_in(page, live, "staffs")
    page.goto(f"{live}/links/{pair}")
    expect(page.get_by_text("The person's details are for the agencies")).to_be_visible()
    expect(page.get_by_text("Its reasons are withheld")).to_be_visible()
    assert "Zebedee" not in page.content() and "transposed" not in page.content()
