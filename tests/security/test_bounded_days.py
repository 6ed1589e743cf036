"""Every day and number that enters is bounded, in one place (`gapwatch.clock`), with a clear refusal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.events import parse_record
from gapwatch.models import Case, Handoff, Ownership
from tests.support import act, csrf_token, event

FAR = "9999-12-31"


@pytest.mark.parametrize("text", [FAR, "0001-01-01", "1899-12-31", "2200-01-01"])
def test_a_day_outside_the_accepted_range_is_refused_naming_the_field(text):
    with pytest.raises(InvalidInput) as refused:
        clock.parse_day(text, "due_on")
    assert refused.value.field == "due_on"
    assert "outside the days gapwatch accepts (1900-01-01 to 2199-12-31)" in refused.value.message


@pytest.mark.parametrize("text", ["bad", "2026-1-1", "20260101", "", "2026-02-30"])
def test_a_day_that_does_not_parse_is_refused(text):
    with pytest.raises(InvalidInput, match=r"is not a date \(YYYY-MM-DD\)"):
        clock.parse_day(text, "as_of")


@pytest.mark.parametrize("text", ["99999999999999999999999", "-1", "1e3", "٣", ""])
def test_a_number_out_of_range_is_refused(text):
    with pytest.raises(InvalidInput, match="is not a whole number from 1 to"):
        clock.parse_count(text, "before", low=1)


@pytest.mark.parametrize("record", [
    event("C-1", FAR, "ownership_started", agency="WMIDS", role="supervision"),
    event("C-1", "0001-01-01", "officer_assigned", agency="WMIDS", officer="J. Smith"),
    event("C-1", "2026-05-01", "handoff_requested", to_agency="WMIDS", role="supervision",
          kind="transfer", due_on=FAR),
    {"type": "person", "reference": "P-1", "given_name": "A", "family_name": "B",
     "date_of_birth": "0001-01-01"},
])
def test_the_import_refuses_a_day_far_off(record):
    with pytest.raises(InvalidInput, match="outside the days gapwatch accepts"):
        parse_record(record)


def test_the_cli_refuses_a_day_far_off(app):
    result = app.test_cli_runner().invoke(args=["scan", "--as-of", FAR])
    assert result.exit_code == 2
    assert "outside the days gapwatch accepts" in result.output


def test_the_api_refuses_a_due_day_far_off(client, session, world):
    _token, secret = act(session, ops.create_token, agency="HMP-HEWELL", name="hewell")
    response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {secret}"}, json=event(
        "C-WAIT", world["today"], "handoff_requested", from_agency="HMP-HEWELL",
        to_agency="STAFFS", role="supervision", kind="referral", due_on=FAR))
    assert response.status_code == 400
    assert "outside the days gapwatch accepts" in response.json["detail"]


@pytest.mark.parametrize("on", ["0001-01-01", "1899-12-31", FAR])
def test_the_api_refuses_an_officer_assigned_on_a_day_far_off(client, session, world, on):
    _token, secret = act(session, ops.create_token, agency="HMP-HEWELL", name="hewell")
    response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {secret}"},
                           json=event("C-WAIT", on, "officer_assigned", agency="HMP-HEWELL",
                                      officer="J. Smith"))
    assert response.status_code == 400
    assert "outside the days gapwatch accepts" in response.json["detail"]
    session.rollback()
    assert session.execute(select(Ownership.officer).join(Case, Case.id == Ownership.case_id)
                           .where(Case.reference == "C-WAIT")).scalar_one() is None


def test_the_case_form_refuses_a_due_day_far_off_and_the_page_still_opens(browse, session):
    browser = browse("hewell")
    response = browser.post("/cases/C-WAIT/handoffs", {
        "to_agency": "STAFFS", "role": "supervision", "kind": "referral", "due_on": FAR})
    assert response.status_code == 400
    assert "outside the days gapwatch accepts" in response.text
    session.rollback()
    assert session.execute(select(Handoff).where(Handoff.due_on == date(9999, 12, 31))).first() is None
    assert browser.get("/cases/C-WAIT").status_code == 200


@pytest.mark.parametrize("query", ["before=99999999999999999999999", "before=x"])
def test_the_audit_filters_refuse_what_they_cannot_use(browse, query):
    response = browse("auditor").get(f"/audit?{query}")
    assert response.status_code == 400
    assert "Invalid input" in response.text


@pytest.mark.parametrize(("query", "field", "says"), [
    (f"until={FAR}", "until", "outside the days gapwatch accepts"),
    (f"since={FAR}", "since", "outside the days gapwatch accepts"),
    ("until=bad", "until", "is not a date"),
    ("until-day=31&until-month=2&until-year=2026", "until", "must be a real day"),
])
def test_a_filter_day_it_cannot_use_is_refused_at_its_field(browse, query, field, says):
    """The audit page again, the reason in the error summary linking to the day's boxes."""
    response = browse("auditor").get(f"/audit?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.text and says in response.text, response.text
    assert f'href="#f-{field}-day"' in response.text
    assert f'id="f-{field}-error"' in response.text


@pytest.mark.parametrize("as_of", ["bad", FAR])
def test_an_export_as_of_a_day_it_cannot_use_is_refused_not_today(browse, as_of):
    response = browse("auditor").get(f"/cases/C-WAIT/export.pdf?as_of={as_of}")
    assert response.status_code == 400
    assert "as_of" in response.text


def test_the_admin_contract_form_refuses_a_day_far_off(browse):
    browser = browse("admin")
    page = browser.get("/admin/contracts")
    assert page.status_code == 200
    response = browser.post("/admin/contracts", {
        "provider": "YSS", "commissioner": "WMERCIA", "service": "X", "starts_on": FAR,
        "csrf_token": csrf_token(page.text)})
    assert "outside the days gapwatch accepts" in response.text
