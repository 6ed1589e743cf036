"""Coming up: for day d + k it shows what the scan of d + k would find, to whom, with what step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.forecast import mark
from gapwatch.models import AuditEvent
from gapwatch.scan import scan
from tests.support import PASSWORD, act, event, load, sign_in
from tests.web.test_contract_pages import tables

ACCOUNTS = {"WMIDS": "spo@westmidlands.example", "WMERCIA": "spo@westmercia.example",
            "STAFFS": "spo@staffordshire.example", "HMP-HEWELL": "omu@hewell.example"}
AUDITOR = "inspector@hmip.example"


def signed_in(app, session, agency: str | None):
    email = ACCOUNTS[agency] if agency else AUDITOR
    act(session, ops.add_user, email=email, role="case_manager" if agency else "auditor",
        password=PASSWORD, agency=agency)
    client = app.test_client()
    sign_in(client, email)
    return client


def rows(html: str) -> list[list[str]]:
    """Every item of the page: day, case (and person), what, severity, step; in page order."""
    return [cells for table_id, table in tables(html).items() if table_id.startswith("week-")
            for cells in table[1:]]


def listed(html: str) -> list[tuple[str, str, str, str]]:
    return [(day, case.split()[0], what.split("(")[1].split(")")[0], severity.split()[-1])
            for day, case, what, severity, _step in rows(html)]


def scans_ahead(session, today, days: int = 30) -> dict[str, list[tuple]]:
    """What the dry-run scans of each day ahead find that today's does not, first day only, by
    agency told: (long day, case, rule, severity)."""
    seen = {mark(f) for f in scan(session, today, dry_run=True).findings}
    first = {}
    for k in range(1, days + 1):
        day = today + timedelta(days=k)
        for f in scan(session, day, dry_run=True).findings:
            if mark(f) not in seen:
                first.setdefault(mark(f), (day, f))
    told: dict[str, list] = {}
    for day, f in sorted(first.values(), key=lambda p: (p[0], p[1].case, p[1].rule,
                                                          p[1].subject, p[1].severity)):
        for code in f.notify:
            told.setdefault(code, []).append((clock.long_day(day), f.case, f.rule, f.severity))
    return told


@pytest.fixture
def scanned(demo):
    scan(demo, clock.today())
    return demo


def test_coming_up_is_what_the_scans_of_the_days_ahead_will_find(app, scanned):
    expected = scans_ahead(scanned, clock.today())
    assert {"WMIDS", "STAFFS", "HMP-HEWELL"} <= set(expected), "the demo has something coming"
    for agency in ("WMIDS", "STAFFS", "HMP-HEWELL", "WMERCIA"):
        page = signed_in(app, scanned, agency).get("/coming-up")
        assert page.status_code == 200
        assert listed(page.text) == expected.get(agency, []), agency
    auditor = signed_in(app, scanned, None)
    assert "Choose an agency" in auditor.get("/coming-up").text
    assert listed(auditor.get("/coming-up?agency=STAFFS").text) == expected["STAFFS"]


def test_each_item_offers_the_step_the_authority_table_allows(app, scanned):
    def step(agency, case, rule):
        client = signed_in(app, scanned, agency) if agency != "auditor" else signed_in(
            app, scanned, None)
        query = "" if agency != "auditor" else "?agency=STAFFS"
        for cells in rows(client.get(f"/coming-up{query}").text):
            if cells[1].startswith(case) and f"({rule})" in cells[2]:
                return cells[4]
        raise AssertionError(f"{case} {rule} is not coming for {agency}")

    # WM-1003: WMERCIA asked WMIDS to take it; the request falls overdue in a few days.
    assert step("WMIDS", "WM-1003", "handoff-overdue").startswith("Accept or reject")
    assert step("WMERCIA", "WM-1003", "handoff-overdue").startswith("Chase or withdraw")
    # WM-1038: Staffordshire supervises; Nacro's contract with it ends in twenty days.
    assert step("STAFFS", "WM-1038", "contract-ending").startswith("Renew the contract")
    assert step("auditor", "WM-1038", "contract-ending") == "read only"


def test_a_restricted_persons_name_is_withheld_from_agencies_that_do_not_own_the_case(
        app, session, world):
    today = world["today"]
    load(session, event("C-SECRET", today, "handoff_requested", from_agency="HMP-HEWELL",
                        to_agency="WMIDS", role="supervision", kind="referral",
                        due_on=today + timedelta(days=3)))
    wmids = rows(signed_in(app, session, "WMIDS").get("/coming-up").text)
    hewell = rows(signed_in(app, session, "HMP-HEWELL").get("/coming-up").text)
    secret = [cells[1] for cells in wmids if cells[1].startswith("C-SECRET")]
    assert secret and all("Sam" not in c and "restricted" in c for c in secret)
    assert any(c[1].startswith("C-SECRET") and "Sam Example" in c[1] for c in hewell)


def test_the_view_is_in_the_audit_trail_and_the_dashboard_links_to_it(app, scanned):
    client = signed_in(app, scanned, "STAFFS")
    assert 'href="/coming-up"' in client.get("/").text
    client.get("/coming-up")
    scanned.rollback()
    entry = scanned.execute(select(AuditEvent.actor, AuditEvent.detail)
                            .where(AuditEvent.action == "coming.viewed")).one()
    assert entry.actor == "user:spo@staffordshire.example"
    assert entry.detail["agency"] == "STAFFS"
