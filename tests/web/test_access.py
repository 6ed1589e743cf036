"""Who sees which case, who may post what, and the guards of every form and session."""

from __future__ import annotations

import pytest
from flask import url_for

from tests.web.conftest import PASSWORD, USERS, csrf_token

CASES = {"C-WAIT", "C-GAP", "C-STAFFS", "C-SECRET"}
SEES = {
    # WMIDS is asked to take C-WAIT and is the home area of the others but Staffordshire's.
    "wmids": {"C-WAIT", "C-GAP", "C-SECRET"},
    # Hewell owns or owned C-WAIT, C-GAP and C-SECRET.
    "hewell": {"C-WAIT", "C-GAP", "C-SECRET"},
    "staffs": {"C-STAFFS"},
    "auditor": CASES,
    "admin": CASES,
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_sees_its_cases_and_nothing_else_exists(browse, who):
    browser = browse(who)
    for reference in sorted(CASES):
        status = browser.get(f"/cases/{reference}").status_code
        assert status == (200 if reference in SEES[who] else 404), reference
    listed = browser.get("/cases?q=C-").text
    assert {r for r in CASES if f">{r}</a>" in listed} == SEES[who]


def test_search_by_name_does_not_reveal_other_agencies_cases(browse):
    page = browse("staffs").get("/cases?q=sam").text
    assert ">C-STAFFS</a>" in page
    assert "C-WAIT" not in page and "C-GAP" not in page


@pytest.mark.parametrize(("who", "named"), [("hewell", True), ("auditor", True),
                                            ("admin", False), ("wmids", False)])
def test_a_restricted_person_is_named_only_to_the_owners_and_auditors(browse, who, named):
    browser = browse(who)
    case_page = browser.get("/cases/C-SECRET").text
    assert ("P-C-SECRET" in case_page) is named
    assert "restricted" in case_page
    listed = browser.get("/cases?q=C-SECRET").text
    assert ("Sam Example" in listed) is named


def test_a_restricted_person_stays_in_the_queues_and_counts_without_a_name(browse, session):
    from gapwatch import clock
    from gapwatch import operations as ops
    from tests.support import act
    act(session, ops.request_handoff, case="C-SECRET", on=clock.today(), from_agency="HMP-HEWELL",
        to_agency="WMIDS", role="supervision", kind="referral")
    page = browse("wmids").get("/dashboard/waiting").text
    assert ">C-SECRET</a>" in page
    row = page[page.index(">C-SECRET</a>"):].split("</tr>")[0]
    assert "restricted" in row and "Sam" not in row
    assert "<strong>2</strong> waiting" in browse("wmids").get("/").text


def post_routes(app):
    """Every POST route a signed-in user could reach (the bearer-token API is not one)."""
    values = {"reference": "C-WAIT", "handoff_id": 1, "ownership_id": 1, "flag_id": 1,
              "user_id": 1, "token_id": 1, "code": "WMIDS", "message_id": 1, "id": 1,
              "proposal_id": 1, "verdict": "confirm"}
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint.startswith(("api.", "auth.", "static")):
                continue
            args = {name: values.get(name, 1) for name in rule.arguments}
            routes.append(url_for(rule.endpoint, **args))
    return routes


def test_an_auditor_is_refused_every_write(app, browse):
    routes = post_routes(app)
    assert "/cases/C-WAIT/handoffs/1/accept" in routes and "/admin/users" in routes
    auditor = browse("auditor")
    refused = {url: auditor.post(url, {"reason": "x", "officer": "x"}).status_code for url in routes}
    assert refused == dict.fromkeys(routes, 403)


def test_an_auditor_still_signs_out_and_changes_their_password(browse):
    auditor = browse("auditor")
    assert auditor.post("/logout").status_code == 302


@pytest.mark.parametrize("url", ["/admin/", "/admin/users", "/admin/agencies", "/admin/contracts"])
@pytest.mark.parametrize("who", ["wmids", "auditor"])
def test_admin_pages_are_for_admins(browse, who, url):
    assert browse(who).get(url).status_code == 403


def test_admin_posts_are_refused_to_case_managers(browse):
    response = browse("wmids").post("/admin/users", {"email": "x@y.example", "role": "admin",
                                                     "password": "long enough pw"})
    assert response.status_code == 403


def test_a_form_posted_without_its_csrf_token_is_refused(browse, session):
    from sqlalchemy import select

    from gapwatch.models import Handoff
    handoff = session.execute(select(Handoff)).scalars().first()
    browser = browse("wmids")
    response = browser.post(f"/cases/C-WAIT/handoffs/{handoff.id}/accept", token=False)
    assert response.status_code == 400
    assert "Form expired" in response.text
    session.expire_all()
    assert session.get(Handoff, handoff.id).status == "pending"


def test_pages_need_a_sign_in(client, world):
    for url in ["/", "/cases", "/cases/C-WAIT", "/dashboard/flags", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_a_session_is_permanent_and_expires(app, client, world, users):
    users("wmids")
    page = client.get("/login")
    response = client.post("/login", data={"email": USERS["wmids"][0], "password": PASSWORD,
                                           "csrf_token": csrf_token(page.text)})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie and "HttpOnly" in cookie
    assert app.config["PERMANENT_SESSION_LIFETIME"] == 8 * 3600
    assert "session=" not in str(client.get("/").headers.getlist("Set-Cookie"))  # not re-sent


def test_a_session_ends_a_working_day_after_signing_in_however_busy(client, world, users):
    users("wmids")
    page = client.get("/login")
    client.post("/login", data={"email": USERS["wmids"][0], "password": PASSWORD,
                                "csrf_token": csrf_token(page.text)})
    with client.session_transaction() as cookie:
        cookie["signed_in_at"] -= 8 * 3600 - 60  # signed in 7 h 59 min ago
    assert client.get("/").status_code == 200
    with client.session_transaction() as cookie:
        cookie["signed_in_at"] -= 120  # now 8 h 1 min ago
    response = client.get("/cases/C-WAIT")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "sign in again" in client.get(response.headers["Location"]).text
    assert client.get("/").status_code == 302  # the old session is gone, not just refused once


@pytest.mark.parametrize(("target", "landing"), [
    ("/cases", "/cases"),
    ("http://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_is_followed_only_within_the_site(client, users, world, target, landing):
    users("wmids")
    page = client.get("/login")
    response = client.post("/login", query_string={"next": target}, data={
        "email": USERS["wmids"][0], "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == landing


def test_a_restricted_person_is_not_found_by_name_but_by_reference(browse):
    wmids = browse("wmids")
    assert "C-SECRET" not in wmids.get("/cases?q=sam+example").text
    assert ">C-SECRET</a>" in wmids.get("/cases?q=c-secret").text
    assert ">C-SECRET</a>" in browse("auditor").get("/cases?q=sam+example").text


@pytest.mark.parametrize("url", ["/cases?page=1000000000000000000", "/dashboard/flags?page=99999999999999999999"])
def test_an_absurd_page_number_is_the_last_page_not_an_error(browse, url):
    assert browse("wmids").get(url).status_code == 200


def test_a_queue_refreshing_after_sign_out_sends_the_whole_page_to_sign_in(client, world):
    response = client.get("/dashboard/flags", headers={
        "HX-Request": "true", "HX-Current-URL": "http://gapwatch.test/?agency=WMIDS"})
    assert response.status_code == 200 and response.text == ""
    assert response.headers["HX-Redirect"] == "/login?next=/?agency%3DWMIDS"


def test_a_signed_out_page_sends_to_sign_in_and_back(client, world):
    response = client.get("/cases/C-WAIT?tab=history")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/cases/C-WAIT?tab%3Dhistory"
