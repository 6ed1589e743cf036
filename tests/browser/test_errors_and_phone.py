"""A refused form keeps people where they were; the dashboard works on a phone (issue 13).

Each form that can be refused is refused once: the error is in the summary at the top and at its
field, the summary's link takes the focus to that field, what was typed is still there, the
address is the page's own (not the one the form posted to), and a reload posts nothing again.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

BIDI = "\u202e"  # a right-to-left override: refused in any text (gapwatch.text)

# who, page, the part of the page the form is in, the disclosure to open first (or None), what
# to type (label: text), the button, the field the error belongs to, what the error says.
FORMS = {
    "dashboard reject": ("wmids", "/", "section#waiting", "Reject",
                         {"Why (the sender will read this)": f"Not ours {BIDI}"}, "Reject C-WAIT",
                         "Why (the sender will read this)", "The text"),
    "case page reject": ("wmids", "/cases/C-WAIT", "#handoffs-h ~ table", "Reject",
                         {"Reason": " "}, "Reject", "Reason", "A rejection needs a reason"),
    "acknowledge": ("wmids", "/cases/C-GAP", "li.gw-flag", "Acknowledge",
                    {"Note (what you are doing about it)": " "}, "Acknowledge for WMIDS",
                    "Note (what you are doing about it)", "An acknowledgement needs a note"),
    "snooze day": ("wmids", "/cases/C-GAP", "li.gw-flag", "Acknowledge",
                   {"Note (what you are doing about it)": "calling", "Day": "31", "Month": "2",
                    "Year": "2027"}, "Acknowledge for WMIDS", "Day", "must be a real day"),
    "take supervision": ("wmids", "/cases/C-GAP", "#close-gap", None,
                         {"Officer who will supervise": ""}, "Take supervision for WMIDS",
                         "Officer who will supervise", "Enter officer who will supervise"),
    "hand on": ("wmids", "/cases/C-GAP", "#hand-on", None,
                {"Day": "30", "Month": "13", "Year": "2026"}, "Ask them to take it", "Day",
                "The due day must be a real day"),
    "withdraw": ("hewell", "/cases/C-WAIT", "#handoffs-h ~ table", None, {"Why": f"sent {BIDI}"},
                 "Withdraw", "Why", "The text"),
    "name an officer": ("hewell", "/cases/C-WAIT", "#ownerships-h ~ table", None,
                        {"Officer": ""}, "Assign", "Officer", ".+"),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_refused_form_shows_its_error_in_the_summary_and_at_its_field(page, live, form):
    who, path, part, opener, typed, button, field, says = FORMS[form]
    sign_in(page, live, who)
    page.goto(live + path)
    scope = page.locator(part).first
    if opener:
        scope.locator("summary", has_text=opener).first.click()
    for label, text in typed.items():
        scope.get_by_label(label, exact=True).first.fill(text)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    scope.get_by_role("button", name=button).first.click()
    page.wait_for_load_state()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text(re.compile(says))
    # The page the person was on, at its own address: a reload reads it and posts nothing.
    expect(page).to_have_url(live + path)
    marked = page.locator("[aria-invalid=true]")
    expect(marked.first).to_be_visible()  # the form is open again
    summary.get_by_role("link").first.click()
    focused = page.evaluate("() => document.activeElement.labels[0].textContent.trim()")
    assert focused.startswith(field), focused
    expect(page.locator(":focus")).to_have_attribute("aria-invalid", "true")
    if field not in ("Day",):  # a date's error describes its group of three boxes
        expect(page.locator(":focus")).to_have_accessible_description(re.compile(says))
    for label, text in typed.items():
        if text.strip():
            expect(page.locator(part).first.get_by_label(label, exact=True).first).to_have_value(text)
    posted = len(posts)
    page.reload()
    page.wait_for_load_state()
    assert len(posts) == posted, f"the reload posted again: {posts[posted:]}"


def test_the_dashboard_on_a_phone_has_no_sideways_scroll_and_every_action_in_reach(chromium, live):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                                   is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live, "wmids")
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Every control of the page lies inside the window's width, so a thumb reaches it.
        outside = page.evaluate("""() => [...document.querySelectorAll(
              'main a, main button, main input:not([type=hidden]), main select, main summary')]
            .filter(e => e.getClientRects().length)
            .map(e => [e.textContent.trim() || e.id, e.getBoundingClientRect()])
            .filter(([, r]) => r.left < 0 || r.right > window.innerWidth)
            .map(([name, r]) => `${name}: ${Math.round(r.left)}..${Math.round(r.right)}`)""")
        assert not outside, outside
        waiting = page.locator("section#waiting")
        waiting.get_by_label("Officer for C-WAIT").fill("J. Smith")
        waiting.get_by_role("button", name="Accept C-WAIT").click()
        expect(page.get_by_role("status", name="Done")).to_contain_text("Accepted")
    finally:
        context.close()
