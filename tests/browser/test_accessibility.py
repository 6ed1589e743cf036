"""Every page people use passes axe-core's WCAG 2.1 A and AA rules, and works by keyboard.

Issue 4's bar: every field has a label, the page is usable by keyboard, colour is not the only
signal, contrast passes. axe-core checks what a machine can (labels, names, contrast, landmarks,
headings, ids); the keyboard test walks a case manager's morning without a mouse.
"""

from __future__ import annotations

import pytest

from gapwatch import operations as ops
from gapwatch.alerts import write_digests
from tests.browser.conftest import axe_violations, sign_in
from tests.support import act, event, load, system

pytestmark = pytest.mark.browser


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
    """Open `url` with every disclosure open (the action forms too) and return axe's findings."""
    page.goto(url)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    return axe_violations(page)


def assert_none(found: list[str]) -> None:
    assert not found, "axe-core found:\n" + "\n".join(found)


def test_a_case_managers_pages_pass_axe(page, site):
    page.goto(f"{site}/login")
    found = axe_violations(page)
    sign_in(page, site, "wmids")
    for path in ["/", "/dashboard/waiting", "/dashboard/flags?severity=critical",
                 "/cases/C-GAP", "/cases/C-SECRET", "/cases?q=C-", "/account/password",
                 "/cases/C-STAFFS"]:
        found += audit(page, site + path)
    page.context.clear_cookies()
    sign_in(page, site, "hewell")  # an owner's case page: hand on, assign, end, close, withdraw
    found += audit(page, f"{site}/cases/C-WAIT")
    assert_none(found)


def test_an_auditors_pages_pass_axe(page, site):
    sign_in(page, site, "auditor")
    found = []
    for path in ["/", "/?agency=WMIDS", "/dashboard/unallocated?agency=HMP-HEWELL",
                 "/cases/C-GAP", "/cases/C-GAP/export.html", "/audit"]:
        found += audit(page, site + path)
    assert_none(found)


def test_an_admins_pages_pass_axe(page, site):
    sign_in(page, site, "admin")
    found = []
    for path in ["/admin/", "/admin/agencies", "/admin/agencies/WMIDS", "/admin/contracts",
                 "/admin/users", "/admin/tokens", "/admin/outbox/", "/cases/C-WAIT"]:
        found += audit(page, site + path)
    assert_none(found)
