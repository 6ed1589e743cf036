"""The commissioner's contract pages: the CSV's figures, to whom, and each view in the audit trail."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.contracts import as_csv, figures
from gapwatch.models import AuditEvent, Contract
from tests.support import PASSWORD, D, act, sign_in
from tests.test_contracts import commissioned  # noqa: F401 (the fixture: a small region)

RANGE = {"from": "2026-01-01", "to": "2026-04-30", "as_of": "2026-04-10"}
ACCOUNTS = {
    "WMERCIA": ("spo@wmercia.example", "case_manager"),  # the commissioner
    "CONNECT-NACRO": ("connect@nacro.example", "case_manager"),  # the provider
    "STAFFS": ("spo@staffs.example", "case_manager"),  # another area
    None: ("inspector@hmip.example", "auditor"),
    "admin": ("admin@gapwatch.example", "admin"),
}
# Each chart's table: its column header, and the CSV's column it prints.
COLUMNS = {
    "delivered-table": ["cases_delivered"],
    "referrals-table": ["referrals_made", "referrals_accepted", "referrals_rejected",
                        "referrals_unanswered", "median_days_to_answer"],
    "past-end-table": ["delivery_days_past_end"],
    "flags-table": ["flags_raised", "median_days_open"],
}


class Tables(HTMLParser):
    """Collect the text of each cell of every table with an id: {id: [[cell, ...], ...]}."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "br" and self._cell is not None:
            self._cell += " "

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def tables(html: str) -> dict[str, list[list[str]]]:
    reader = Tables()
    reader.feed(html)
    return reader.tables


@pytest.fixture
def client_of(app, commissioned):  # noqa: F811 (the fixture imported above)
    def signed_in(agency):
        email, role = ACCOUNTS[agency]
        act(commissioned, ops.add_user, email=email, role=role, password=PASSWORD,
            agency=agency if role == "case_manager" else None)
        client = app.test_client()
        sign_in(client, email)
        return client
    return signed_in


def contract_id(session, provider_code: str) -> int:
    from gapwatch.models import Agency
    return session.execute(
        select(Contract.id).join(Agency, Agency.id == Contract.provider_id)
        .where(Agency.code == provider_code)).scalar_one()


def test_the_page_shows_the_csvs_figures_and_the_downloads_are_the_reports(client_of,
                                                                            commissioned):  # noqa: F811
    client = client_of("WMERCIA")
    connect = contract_id(commissioned, "CONNECT-NACRO")
    page = client.get(f"/contracts/{connect}", query_string=RANGE)
    assert page.status_code == 200
    downloaded = client.get(f"/contracts/{connect}/figures.csv", query_string=RANGE)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(downloaded.text)))
    assert [r["month"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    # The same function the CLI's report calls, for this one contract.
    report = [m for m in figures(commissioned, D("2026-01-01"), D("2026-04-30"),
                                 as_of=D("2026-04-10"), commissioner="WMERCIA")
              if m.contract.provider == "CONNECT-NACRO"]
    assert downloaded.text == as_csv(report)
    shown = tables(page.text)
    for table, columns in COLUMNS.items():
        body = shown[table][1:]
        assert [cells[1:] for cells in body] == [
            [r[c] or "–" for c in columns] for r in rows], table
    assert [cells[0] for cells in shown["delivered-table"][1:]] == [
        "January 2026", "February 2026", "March 2026", "April 2026"]
    # The hand counts of tests/test_contracts.py, read off the page: March's unanswered
    # referral and its flag open 31 days; April's 10 delivery days past the contract's end.
    assert shown["referrals-table"][3][1:] == ["1", "0", "0", "1", "–"]
    assert shown["past-end-table"][4][1:] == ["10"]
    assert shown["flags-table"][3][1:] == ["1", "31"]
    for chart in ("delivered", "referrals", "past-end", "flags"):
        assert f'<svg class="chart" id="{chart}"' in page.text
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page.text
    pdf = client.get(f"/contracts/{connect}/figures.pdf", query_string=RANGE)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize(("agency", "status"), [
    ("WMERCIA", 200), ("CONNECT-NACRO", 200), (None, 200), ("admin", 200), ("STAFFS", 403)])
def test_who_may_see_a_contracts_figures(client_of, commissioned, agency, status):  # noqa: F811
    client = client_of(agency)
    connect = contract_id(commissioned, "CONNECT-NACRO")
    assert client.get(f"/contracts/{connect}", query_string=RANGE).status_code == status
    assert client.get(f"/contracts/{connect}/figures.csv",
                      query_string=RANGE).status_code == status
    listed = client.get("/contracts").text
    assert (f"/contracts/{connect}" in listed) == (status == 200)
    if status == 403:
        refused = client.get(f"/contracts/{connect}").text
        assert "are for WMERCIA, CONNECT-NACRO, auditors and admins; you act for STAFFS" in refused


def test_the_provider_sees_only_its_own_contracts(client_of, commissioned):  # noqa: F811
    listed = client_of("CONNECT-NACRO").get("/contracts").text
    assert f"/contracts/{contract_id(commissioned, 'CONNECT-NACRO')}" in listed
    assert f"/contracts/{contract_id(commissioned, 'YSS')}" not in listed


def test_every_view_and_download_is_in_the_audit_trail(client_of, commissioned):  # noqa: F811
    client = client_of("WMERCIA")
    connect = contract_id(commissioned, "CONNECT-NACRO")
    client.get("/contracts")
    client.get(f"/contracts/{connect}", query_string=RANGE)
    client.get(f"/contracts/{connect}/figures.pdf", query_string=RANGE)
    commissioned.rollback()
    trail = commissioned.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
        .where(AuditEvent.action.like("contract%"), AuditEvent.actor.like("user:%"))
        .order_by(AuditEvent.seq)).all()
    assert [(a, w) for a, w, _d in trail] == [
        ("user:spo@wmercia.example", "contracts.listed"),
        ("user:spo@wmercia.example", "contract.viewed"),
        ("user:spo@wmercia.example", "contract.exported")]
    assert trail[1][2]["provider"] == "CONNECT-NACRO" and trail[1][2]["as_of"] == "2026-04-10"
    assert trail[2][2]["format"] == "pdf"


@pytest.mark.parametrize(("query", "says"), [
    ({"from": "2026-05-01", "to": "2026-04-01"},
     "From (1 May 2026) is after To (1 April 2026)"),
    ({"as_of": "2999-01-01"}, "as_of"),
    ({"to": "31/04/2026"}, "to"),
    # The page's own three boxes, as a person types them.
    ({"from-day": "1", "from-month": "5", "from-year": "2026", "to-day": "1", "to-month": "4",
      "to-year": "2026"}, "From (1 May 2026) is after To (1 April 2026)"),
    ({"to-day": "31", "to-month": "4", "to-year": "2026"}, "must be a real day"),
    ({"as_of-day": "1", "as_of-month": "1", "as_of-year": "2099"}, "after today"),
])
def test_a_range_that_makes_no_sense_is_refused(client_of, commissioned, query, says):  # noqa: F811
    client = client_of("WMERCIA")
    answer = client.get(f"/contracts/{contract_id(commissioned, 'YSS')}", query_string=query)
    assert answer.status_code == 400
    assert says in answer.text, answer.text
