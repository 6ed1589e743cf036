"""An admin adds, changes and removes a person's identifiers from the admin pages, through
`operations.change_identifier`: validated by scheme, unique, audited, restricted values withheld."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.errors import Forbidden
from gapwatch.models import AuditEvent, PersonIdentifier
from tests.support import act

PAGE = "/admin/persons/P-C-GAP/identifiers"


def held(session, person="P-C-GAP"):
    session.rollback()
    from gapwatch.models import Person
    return dict(session.execute(
        select(PersonIdentifier.scheme, PersonIdentifier.value)
        .join(Person, Person.id == PersonIdentifier.person_id)
        .where(Person.reference == person)).all())


def test_an_admin_adds_changes_and_removes_an_identifier(browse, session):
    admin = browse("admin")
    found = admin.get("/admin/persons?reference=P-C-GAP")
    assert found.status_code == 303 and found.headers["Location"].endswith(PAGE)
    assert admin.post(PAGE, {"scheme": "noms", "value": "a1234bc"}).status_code == 303
    assert held(session) == {"noms": "A1234BC"}
    page = admin.get(PAGE).text
    assert "govuk-summary-list" in page and "A1234BC" in page
    assert admin.post(PAGE, {"scheme": "noms", "value": "B1234CD"}).status_code == 303
    assert admin.post(PAGE, {"scheme": "local:WMIDS", "value": "wm-7"}).status_code == 303
    assert held(session) == {"noms": "B1234CD", "local:WMIDS": "WM-7"}
    removed = admin.post(f"{PAGE}/remove", {"scheme": "noms"})
    assert removed.status_code == 303 and held(session) == {"local:WMIDS": "WM-7"}
    trail = session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.detail)
                            .where(AuditEvent.action.like("person.identifier\\_%", escape="\\"))
                            .order_by(AuditEvent.id)).all()
    assert [a for a, _who, _d in trail] == [
        "person.identifier_added", "person.identifier_changed", "person.identifier_added",
        "person.identifier_removed"]
    assert {who for _a, who, _d in trail} == {"user:admin@gapwatch.example"}
    assert {k: trail[1][2][k] for k in ("person", "scheme", "before", "after")} == {
        "person": "P-C-GAP", "scheme": "noms", "before": "A1234BC", "after": "B1234CD"}


@pytest.mark.parametrize(("values", "says"), [
    ({"scheme": "pnc", "value": "2001/0123456A"}, "needs F"),
    ({"scheme": "crn", "value": "12345"}, "one letter and six digits"),
])
def test_a_bad_value_is_refused_with_the_reason_by_its_field(browse, session, values, says):
    page = browse("admin").post(PAGE, values)
    assert page.status_code == 400 and says in page.text
    assert 'class="govuk-error-summary"' in page.text and 'id="value-error"' in page.text
    assert held(session) == {}


def test_a_value_another_person_holds_is_refused_naming_them(browse, session):
    admin = browse("admin")
    admin.post("/admin/persons/P-C-WAIT/identifiers", {"scheme": "crn", "value": "X123456"})
    page = admin.post(PAGE, {"scheme": "crn", "value": "x123456"})
    assert page.status_code == 409 and "held by person P-C-WAIT" in page.text
    assert held(session) == {}


def test_a_restricted_persons_values_are_withheld_from_the_admin(browse, session):
    admin = browse("admin")
    page_url = "/admin/persons/P-C-SECRET/identifiers"
    assert admin.post(page_url, {"scheme": "noms", "value": "Z9876YX"}).status_code == 303
    page = admin.get(page_url).text
    assert "noms" in page and "Z9876YX" not in page and "withheld" in page
    assert "Sam" not in page and "Example" not in page
    viewed = session.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "person.identifiers_viewed").order_by(AuditEvent.id.desc())
    ).scalars().first()
    assert (viewed["person"], viewed["details_shown"]) == ("P-C-SECRET", False)


def test_only_admins_reach_the_page_and_the_case_page_links_to_it(browse):
    assert browse("wmids").get(PAGE).status_code == 403
    admin = browse("admin")
    assert admin.get("/admin/persons/P-NOBODY/identifiers").status_code == 404
    assert f'href="{PAGE}"' in admin.get("/cases/C-GAP").text


def test_an_agency_changes_identifiers_only_of_a_person_whose_case_it_holds(world, session):
    staffs = ops.Actor(name="user:cm@staffs.example", agency="STAFFS")
    with pytest.raises(Forbidden, match="STAFFS holds none") as refused:
        act(session, ops.change_identifier, actor=staffs, person="P-C-SECRET", scheme="noms",
            value="A1234BC")
    assert refused.value.rule == "save-person"
    hewell = ops.Actor(name="user:cm@hewell.example", agency="HMP-HEWELL")
    act(session, ops.change_identifier, actor=hewell, person="P-C-SECRET", scheme="noms",
        value="A1234BC")
    with pytest.raises(Forbidden, match="its own local reference"):
        act(session, ops.change_identifier, actor=hewell, person="P-C-SECRET",
            scheme="local:WMIDS", value="WM-1")
