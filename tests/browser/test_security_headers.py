"""The pages work under the strict content security policy they send, in real chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} ${e.sample || ""}`.trim()));
"""
PAGES = {
    "wmids": ["/", "/cases", "/cases/C-WAIT", "/cases/C-GAP", "/account/password",
              "/dashboard/waiting"],
    "auditor": ["/", "/audit", "/cases/C-WAIT", "/cases/C-WAIT/export.html"],
    "admin": ["/admin/", "/admin/users", "/admin/agencies", "/admin/contracts", "/admin/tokens",
              "/admin/outbox/"],
}


def favicon(message) -> bool:
    # chromium asks every site for one; gapwatch has none, and its 404 is no fault of a page.
    return message.location.get("url", "").endswith("/favicon.ico")


@pytest.fixture
def watched(page):
    """The page, with every CSP violation, console error and uncaught error collected."""
    problems = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: m.type == "error" and not favicon(m)
            and problems.append(f"console: {m.text} ({m.location.get('url')})"))
    page.on("pageerror", lambda e: problems.append(f"error: {e}"))
    page.problems = problems
    return page


def visit(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    # Breaking no rule proves nothing without the rules: the strict policy is really sent.
    policy = response.header_value("content-security-policy") or ""
    assert "script-src 'self'" in policy and "style-src '" in policy, (url, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (url, policy)
    page.wait_for_load_state("networkidle")
    return [f"{url}: {v}" for v in page.evaluate("window.__violations")] + \
        [f"{url}: {p}" for p in page.problems]


@pytest.mark.parametrize("who", list(PAGES))
def test_the_main_pages_break_no_rule_of_their_policy(watched, live, who):
    sign_in(watched, live, who)
    found = []
    for path in PAGES[who]:
        found += visit(watched, live + path)
        watched.problems.clear()
    assert found == []


def test_the_journey_picture_is_drawn_without_style_attributes(watched, live):
    sign_in(watched, live, "wmids")
    watched.goto(f"{live}/cases/C-WAIT")
    # Its looks are SVG presentation attributes, which the strict CSP allows.
    lane = watched.locator("svg.tl rect.tl-lane").first
    assert lane.evaluate("e => getComputedStyle(e).fill") == "rgb(243, 245, 247)"
    assert watched.locator("svg.tl style, svg.tl [style]").count() == 0
    assert watched.evaluate("window.__violations") == [] and watched.problems == []


def test_a_queue_still_filters_through_htmx(watched, live):
    sign_in(watched, live, "wmids")
    waiting = watched.locator("section#waiting")
    waiting.get_by_label("Filter").fill("C-NOTHING")
    waiting.get_by_label("Filter").press("Enter")
    expect(watched.locator("section#waiting")).not_to_contain_text("C-WAIT")
    assert watched.evaluate("window.__violations") == [] and watched.problems == []


def test_the_queue_refreshes_each_minute_unless_someone_is_in_it(page, live):
    page.clock.install()
    sign_in(page, live, "wmids")
    polls = []
    page.on("request", lambda r: "/dashboard/waiting" in r.url
            and polls.append(r.headers.get("x-gapwatch-poll")))
    page.clock.run_for(61_000)
    page.wait_for_load_state("networkidle")
    assert "1" in polls
    polls.clear()
    page.locator("section#waiting").get_by_label("Filter").focus()
    page.clock.run_for(61_000)
    page.wait_for_load_state("networkidle")
    assert "1" not in polls


def test_the_pages_cannot_be_framed(page, live):
    response = page.goto(f"{live}/login")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
