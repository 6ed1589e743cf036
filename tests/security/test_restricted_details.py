"""A restricted person's details (reference, names, birth date, identifiers) reach only those who
may open them: the agencies that own the case today (not by a reception they gave themselves)
and auditors. Tried every way a home area, an agency told of a twin, a prison that received the
person on its own, and an administrator could look: pages, partials, search, the API, digests,
exports, the audit trail's page and the review of twins."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.alerts import write_digests
from gapwatch.models import Agency, OutboxMessage
from gapwatch.scan import scan
from tests.alerts.conftest import raise_flag
from tests.support import act, load
from tests.web.conftest import event

# Everything that says who the restricted person is, in the shapes pages and files write it.
SECRETS = ("Zebedee", "Quill", "P-HIDDEN", "A1234BC", "1987-11-23", "23 Nov 1987", "23 November 1987",
           "23 November 1987")
SEARCHES = ("P-HIDDEN", "p-hidden", "P-HID", "Zebedee", "zebedee quill")


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


PERSON = {"type": "person", "reference": "P-HIDDEN", "given_name": "Zebedee",
          "family_name": "Quill", "date_of_birth": "1987-11-23", "home_area": "WMIDS",
          "restricted": True}


@pytest.fixture
def hidden(world, session):
    """Zebedee Quill (P-HIDDEN), restricted, in Hewell's custody on case C-HIDDEN, home area
    WMIDS; HMP Long Lartin received him too, of its own accord (a reception it gave itself);
    scanned today."""
    today = clock.today()
    load(session,
         PERSON,
         {"type": "case", "reference": "C-HIDDEN", "person": "P-HIDDEN",
          "opened_on": world["start"].isoformat(),
          "expected_release_on": (today + timedelta(days=10)).isoformat()},
         event("C-HIDDEN", world["start"], "ownership_started", agency="HMP-HEWELL",
               role="custody"))
    act(session, ops.start_ownership, actor=ops.Actor("user:omu@long-lartin.example",
                                                     agency="HMP-LONG-LARTIN"),
        case="C-HIDDEN", on=today, agency="HMP-LONG-LARTIN", role="custody")
    scan(session, today)


@pytest.fixture
def twin(hidden, session):
    """Zebedee's prison number, and a proposal that he is the twin of Staffordshire's C-STAFFS
    person (so a possible-same-person flag tells Staffordshire), scanned today."""
    from tests.web.test_links import propose

    load(session, {**PERSON, "identifiers": {"noms": "A1234BC"}})
    proposal = propose(session, "P-HIDDEN", "P-C-STAFFS")
    scan(session, clock.today())
    return proposal


@pytest.fixture
def tokens(hidden, session):
    return {agency: act(session, ops.create_token, agency=agency, name=agency.lower())[1]
            for agency in ("HMP-HEWELL", "HMP-LONG-LARTIN", "WMIDS", "STAFFS")}


def read(client, secret: str, path: str):
    response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("who", ["wmids", "admin"])
def test_a_search_never_confirms_a_restricted_persons_reference_or_name(browse, hidden, who):
    user = browse(who)
    for query in SEARCHES:
        page = user.get("/cases", query_string={"q": query})
        assert "C-HIDDEN" not in page.text, (who, query)
    found = user.get("/cases", query_string={"q": "C-HIDDEN"})  # the case reference is no secret
    assert "C-HIDDEN" in found.text and not leaks(found.text)


@pytest.mark.parametrize("who", ["hewell", "auditor"])
def test_those_who_may_open_the_details_find_the_person_by_them(browse, hidden, who):
    user = browse(who)
    for query in SEARCHES:
        assert "C-HIDDEN" in user.get("/cases", query_string={"q": query}).text, (who, query)


@pytest.mark.parametrize("who", ["wmids", "admin"])
def test_no_page_or_partial_shows_the_details_to_those_who_may_not_open_them(browse, hidden, who):
    user = browse(who)
    for path in ["/", "/cases", "/dashboard/flags", "/dashboard/waiting", "/dashboard/sent",
                 "/cases/C-HIDDEN"]:
        page = user.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert leaks(page.text) == [], (who, path)


def test_the_owner_and_the_auditor_see_them(browse, hidden):
    for who in ("hewell", "auditor"):
        page = browse(who).get("/cases/C-HIDDEN").text
        assert "Zebedee Quill" in page and "P-HIDDEN" in page and "23 November 1987" in page


@pytest.mark.parametrize("agency", ["WMIDS", "HMP-LONG-LARTIN"])
def test_the_api_withholds_the_details_and_the_reference(client, tokens, agency):
    secret = tokens[agency]
    case = read(client, secret, "/cases/C-HIDDEN")
    person = case.json["person"]
    assert person["reference"] is None and person["details_shown"] is False
    for response in (case, read(client, secret, "/cases/C-HIDDEN/journey"),
                     read(client, secret, "/flags")):
        assert leaks(response.text) == [], (agency, response.request.path)


def test_the_api_shows_them_to_the_agency_that_owns_the_case(client, tokens):
    person = read(client, tokens["HMP-HEWELL"], "/cases/C-HIDDEN").json["person"]
    assert person["reference"] == "P-HIDDEN" and person["given_name"] == "Zebedee"


@pytest.mark.parametrize("who", ["wmids", "staffs", "admin"])
def test_the_review_of_twins_and_the_twins_flag_withhold_them(browse, twin, who):
    user = browse(who)
    # What each may open at all: Staffordshire is not involved in C-HIDDEN, WMIDS neither in
    # C-STAFFS nor (holding a case of neither person) in the pair; any other is a 404.
    paths = ["/", "/links", "/dashboard/flags", *{
        "wmids": ["/cases/C-HIDDEN"],
        "staffs": ["/cases/C-STAFFS", f"/links/{twin}"],
        "admin": ["/cases/C-HIDDEN", "/cases/C-STAFFS", f"/links/{twin}"]}[who]]
    for path in paths:
        page = user.get(path)
        assert page.status_code == 200, (path, page.status_code)
        assert leaks(page.text) == [], (who, path)
    assert "P-HIDDEN" in browse("auditor").get(f"/links/{twin}").text


def test_the_twins_flag_and_identifiers_through_the_api(client, twin, session):
    staffs, hewell = (act(session, ops.create_token, agency=agency, name=agency.lower())[1]
                      for agency in ("STAFFS", "HMP-HEWELL"))
    flags = read(client, staffs, "/flags")
    assert "possible-same-person" in flags.text and leaks(flags.text) == []
    assert leaks(read(client, staffs, "/cases/C-STAFFS").text) == []
    person = read(client, hewell, "/cases/C-HIDDEN").json["person"]
    assert person["identifiers"] == {"noms": "A1234BC"}


def test_digests_name_the_person_only_to_the_owner(hidden, session):
    today = clock.today()
    raise_flag(session, "C-HIDDEN", rule="handoff-overdue", severity="high", since=today,
               subject="look", notify=["HMP-HEWELL", "HMP-LONG-LARTIN", "WMIDS"],
               message="A handoff is overdue")
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:
        write_digests(uow, today, config={"BASE_URL": "http://gapwatch.test"})
    session.rollback()
    bodies = {}
    for row, code in session.execute(select(OutboxMessage, Agency.code).join(
            Agency, Agency.id == OutboxMessage.agency_id).where(OutboxMessage.day == today)):
        bodies.setdefault(code, "")
        bodies[code] += row.subject + row.body_text + row.body_html
    assert "Zebedee Quill" in bodies["HMP-HEWELL"]
    for code in ("HMP-LONG-LARTIN", "WMIDS"):
        assert "C-HIDDEN" in bodies[code] and leaks(bodies[code]) == [], code


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_an_admins_export_withholds_the_details_an_auditors_keeps_them(browse, hidden, fmt):
    admin = browse("admin").get(f"/cases/C-HIDDEN/export.{fmt}")
    assert admin.status_code == 200
    assert leaks(admin.text) == [] and "withheld" in admin.text
    auditor = browse("auditor").get(f"/cases/C-HIDDEN/export.{fmt}")
    assert "Zebedee" in auditor.text and "P-HIDDEN" in auditor.text
    if fmt == "json":
        assert json.loads(admin.text)["person"]["details_withheld"] is True


def test_the_audit_page_withholds_the_details_from_an_admin(browse, hidden):
    admin = browse("admin")
    page = admin.get("/audit").text
    assert "person.created" in page and "withheld" in page
    assert leaks(page) == []
    assert leaks(admin.get("/audit", query_string={"case": "C-HIDDEN"}).text) == []
    assert "Zebedee" in browse("auditor").get("/audit").text
