"""Every page people use passes axe-core (WCAG 2.1 A and AA, best practices) and works by keyboard.

Issue 4's bar: every field has a label, the page is usable by keyboard, colour is not the only
signal, contrast passes. axe-core checks what a machine can (labels, names, contrast, landmarks,
headings, ids); the keyboard test walks a case manager's morning without a mouse.

Issue 13's: the same at a desktop's 1280 px, a phone's 390 px and 200% zoom (a 1280 px window
zoomed is 640 CSS px wide), all under the strict CSP the app serves; and at the narrow two no
page scrolls sideways (WCAG 2.1 reflow).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gapwatch import operations as ops
from gapwatch.alerts import write_digests
from tests.browser.conftest import PASSWORD, USERS, axe_violations, sign_in
from tests.support import act, event, load, system

pytestmark = pytest.mark.browser


# A desktop, a phone, and a 1280 x 900 window at 200% zoom (the same CSS pixels, twice as dense).
SIZES = {
    "desktop-1280": {"viewport": {"width": 1280, "height": 900}},
    "phone-390": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
                  "is_mobile": True, "has_touch": True},
    "zoom-200": {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2},
}
# Whether the page is wider than the window: a horizontal scroll bar.
SIDEWAYS = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(params=list(SIZES))
def sized(request, chromium):
    """A page at each of SIZES' widths."""
    context = chromium.new_context(**SIZES[request.param])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def site(live, session, world):
    """The live app with something on every page: a pending intake, a token, digests to send."""
    load(session, event("C-GAP", world["today"], "handoff_requested", to_agency="WMIDS",
                        role="supervision", kind="referral", due_on=world["today"]))
    act(session, ops.create_token, agency="WMIDS", name="case-system")
    with ops.unit_of_work(session, system()) as uow:
        write_digests(uow, world["today"], config={"BASE_URL": live})
    return live


def audit(page, url: str) -> list[str]:
    """Open `url` with every disclosure open (the action forms too) and return axe's findings,
    and whether the page scrolls sideways."""
    page.goto(url)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    wider = page.evaluate(SIDEWAYS)
    sideways = [f"{page.url}: {wider} px wider than the window"] if wider > 0 else []
    return axe_violations(page) + sideways


def assert_none(found: list[str]) -> None:
    assert not found, "axe-core found:\n" + "\n".join(found)


def refused(page, field: str, says: str) -> list[str]:
    """After a refused form: the field is marked invalid, its error is its description; audit."""
    expect(page.get_by_label(field, exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(field, exact=True)).to_have_accessible_description(re.compile(says))
    return axe_violations(page)


def test_a_case_managers_pages_pass_axe(sized, site):
    page = sized
    page.goto(f"{site}/login")
    assert_none(axe_violations(page))  # now: signing in needs the form's labels
    found = []
    sign_in(page, site, "wmids")
    for path in ["/", "/dashboard/waiting", "/cases/C-GAP", "/cases/C-SECRET", "/cases?q=C-",
                 "/account/password", "/cases/C-STAFFS"]:
        found += audit(page, site + path)
    # What a refusal looks like: field errors, an error message, a queue HTMX replaced.
    page.goto(f"{site}/account/password")
    page.get_by_label("Current password").fill("not it")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("other")
    page.get_by_role("button", name="Change password").click()
    found += refused(page, "Repeat the new password", "The passwords differ")
    page.goto(f"{site}/cases/C-GAP")
    page.locator("li.gw-flag summary").click()
    page.locator("li.gw-flag").get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("alert")).to_be_visible()
    found += axe_violations(page)
    page.goto(site)
    page.locator("#flags-q").fill("no such case")
    page.locator("#flags-q").press("Enter")
    expect(page.locator("section#flags")).to_contain_text("No open flags")
    found += axe_violations(page)
    assert_none(found)


def test_an_auditors_pages_pass_axe(sized, site):
    page = sized
    sign_in(page, site, "auditor")
    found = []
    for path in ["/?agency=WMIDS", "/dashboard/unallocated?agency=HMP-HEWELL",
                 "/cases/C-GAP/export.html", "/audit"]:
        found += audit(page, site + path)
    assert_none(found)


def test_an_admins_pages_pass_axe(sized, site):
    page = sized
    sign_in(page, site, "admin")
    found = []
    for path in ["/admin/", "/admin/agencies", "/admin/agencies/WMIDS", "/admin/contracts",
                 "/admin/users", "/admin/tokens", "/admin/outbox/",
                 "/cases/C-WAIT"]:  # an admin sees every action form: hand on, assign, end, close
        found += audit(page, site + path)
    page.goto(f"{site}/admin/users")
    page.get_by_role("button", name="Create user").click()
    found += refused(page, "First password (12 to 128 characters, not a common one)", ".+")
    assert_none(found)


# What has the focus, and whether it shows: an outline, or a box-shadow ring.
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const name = e.getAttribute("aria-label") || (e.labels && e.labels[0] && e.labels[0].textContent)
               || e.textContent || "";
  return {tag: e.tagName.toLowerCase(), id: e.id, name: name.trim().replace(/\\s+/g, " "),
          section: (e.closest("section") || {}).id || "", inMain: !!e.closest("main"),
          ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
                || s.boxShadow !== "none"};
}"""


class Keyboard:
    """Tab through a page as a keyboard user does, noting every element the focus lands on."""

    def __init__(self, page):
        self.page, self.seen = page, []

    def focused(self) -> dict:
        return self.page.evaluate(FOCUSED)

    def press(self, key: str) -> dict:
        self.page.keyboard.press(key)
        now = self.focused()
        if now["tag"] != "body":
            self.seen.append(now)
        return now

    def tab_to(self, wanted, key: str = "Tab", limit: int = 80) -> dict:
        """Press `key` until the focused element satisfies `wanted`; fail after `limit` presses."""
        for _ in range(limit):
            now = self.press(key)
            if wanted(now):
                return now
        raise AssertionError(f"{limit} presses of {key} never reached it; last: {self.seen[-3:]}")


def test_a_case_manager_signs_in_and_accepts_a_handoff_by_keyboard_alone(page, live):
    keys = Keyboard(page)
    page.goto(f"{live}/login")
    assert keys.focused()["id"] == "email"  # the field has autofocus
    page.keyboard.type(USERS["wmids"][0])
    keys.press("Tab")
    page.keyboard.type(PASSWORD)
    assert keys.press("Shift+Tab")["id"] == "email"  # and back again
    keys.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live}/")

    # The first Tab reaches the skip link, shown on screen; Enter skips the top bar.
    skip = keys.press("Tab")
    assert skip["name"] == "Skip to content"
    assert page.get_by_role("link", name="Skip to content").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    assert keys.press("Tab")["inMain"], "after the skip link the focus goes into the page"

    # The morning list comes first: C-WAIT's handoff is due today.
    keys.tab_to(lambda f: f["section"] == "today" and f["name"] == "C-WAIT")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live}/cases/C-WAIT")
    keys.tab_to(lambda f: f["tag"] == "button" and f["name"] == "Accept")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status", name="Done")).to_contain_text("Accepted: WMIDS takes supervision")

    # Find C-GAP from the top bar's search and acknowledge its flag: Space opens, Space presses.
    keys.tab_to(lambda f: f["id"] == "nav-q")
    page.keyboard.type("C-GAP")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases\?q=C-GAP"))
    keys.tab_to(lambda f: f["inMain"] and f["name"] == "C-GAP")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live}/cases/C-GAP")
    keys.tab_to(lambda f: f["tag"] == "summary" and f["name"].startswith("Acknowledge"))
    page.keyboard.press("Space")
    keys.tab_to(lambda f: f["tag"] == "textarea")
    page.keyboard.type("Duty officer calling the hostel")
    keys.tab_to(lambda f: f["tag"] == "button" and f["name"] == "Acknowledge for WMIDS")
    page.keyboard.press("Space")
    expect(page.get_by_role("status", name="Done")).to_contain_text("Acknowledged the no-accountable-owner flag")

    unringed = [f for f in keys.seen if not f["ring"]]
    assert not unringed, f"focused without a visible focus ring: {unringed}"
    kinds = {f["tag"] for f in keys.seen}
    assert {"a", "button", "input", "textarea", "summary"} <= kinds, kinds
