"""Administration: agencies with their alert addresses, contracts, and user accounts."""

from __future__ import annotations

from sqlalchemy import select

from gapwatch.models import Agency, Contract, User
from tests.web.conftest import csrf_token


def fresh(session) -> None:
    session.rollback()
    session.expire_all()


def test_add_and_edit_an_agency_with_its_addresses(browse, session):
    admin = browse("admin")
    response = admin.post("/admin/agencies", {
        "code": "NEWPROB", "name": "New Probation Area", "kind": "probation", "region": "North",
        "alert_emails": "duty@new.example; team@new.example", "alert_severities": ["critical", "high"],
        "escalation_emails": "lead@north.example", "active": "y"})
    assert response.status_code == 303, response.text
    fresh(session)
    agency = session.execute(select(Agency).where(Agency.code == "NEWPROB")).scalar_one()
    assert agency.alert_emails == ["duty@new.example", "team@new.example"]
    assert agency.alert_severities == ["critical", "high"]
    assert agency.escalation_emails == ["lead@north.example"]
    edit = admin.get("/admin/agencies/NEWPROB").text
    assert 'value="duty@new.example, team@new.example"' in edit


def test_a_bad_agency_code_is_explained(browse):
    response = browse("admin").post("/admin/agencies", {"code": "bad code", "name": "x",
                                                        "kind": "probation"})
    assert response.status_code == 400 and "must be 2-32 capital letters" in response.text


def test_add_a_contract(browse, session):
    response = browse("admin").post("/admin/contracts", {
        "provider": "CONNECT-NACRO", "commissioner": "WMIDS", "service": "Connect",
        "starts_on": "2026-04-01", "ends_on": "2027-03-31"})
    assert response.status_code == 303, response.text
    fresh(session)
    contract = session.execute(select(Contract).where(Contract.service == "Connect")).scalar_one()
    assert str(contract.ends_on) == "2027-03-31"


def test_create_disable_and_reset_a_user(app, browse, session):
    admin = browse("admin")
    created = admin.post("/admin/users", {"email": "new@wmids.example", "role": "case_manager",
                                          "agency": "WMIDS", "password": "first password 1"})
    assert created.status_code == 303
    fresh(session)
    user = session.execute(select(User).where(User.email == "new@wmids.example")).scalar_one()

    def can_sign_in(password: str) -> bool:
        client = app.test_client()
        page = client.get("/login")
        answer = client.post("/login", data={"email": "new@wmids.example", "password": password,
                                             "csrf_token": csrf_token(page.text)})
        return answer.status_code == 302

    assert can_sign_in("first password 1")
    assert admin.post(f"/admin/users/{user.id}/active").status_code == 303
    assert not can_sign_in("first password 1")
    assert admin.post(f"/admin/users/{user.id}/active").status_code == 303
    assert admin.post(f"/admin/users/{user.id}/password",
                      {"password": "second password 2"}).status_code == 303
    assert can_sign_in("second password 2") and not can_sign_in("first password 1")


def test_a_case_manager_needs_an_agency(browse):
    response = browse("admin").post("/admin/users", {"email": "x@y.example", "role": "case_manager",
                                                     "agency": "", "password": "long password 1"})
    assert response.status_code == 400 and "a case manager needs an agency" in response.text


def test_editing_an_agency_changes_that_agency_whatever_code_is_posted(browse, session):
    response = browse("admin").post("/admin/agencies/STAFFS", {
        "code": "WARKS", "name": "Staffordshire Probation (renamed)", "kind": "probation",
        "region": "West Midlands", "alert_emails": "duty@staffs.example", "active": "y"})
    assert response.status_code == 303, response.text
    fresh(session)
    names = dict(session.execute(select(Agency.code, Agency.name)).all())
    assert names["STAFFS"] == "Staffordshire Probation (renamed)"
    assert names["WARKS"] == "Warwickshire Probation"
