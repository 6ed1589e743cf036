"""Identifiers on a person: checked by scheme, one holder per value, a twin record linked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import identity
from gapwatch import operations as ops
from gapwatch.errors import DomainError, InvalidInput
from gapwatch.models import AuditEvent, Person, PersonIdentifier, PersonLink
from tests.support import load, region


@pytest.mark.parametrize(("scheme", "given", "kept"), [
    ("noms", " a1234bc ", "A1234BC"),
    ("crn", "X123456", "X123456"),
    ("pnc", "2001/0123456F", "2001/0123456F"),
    ("pnc", "01/123456F", "2001/0123456F"),
    ("pnc", "1985/12F", "1985/0000012F"),
    ("local:WMIDS", "wm-0042", "WM-0042"),
])
def test_each_scheme_keeps_its_long_capital_form(scheme, given, kept):
    assert identity.normalise(scheme, given) == (scheme, kept)


@pytest.mark.parametrize(("scheme", "given", "says"), [
    ("noms", "A123BC", "one letter, four digits and two letters"),
    ("crn", "123456", "one letter and six digits"),
    ("pnc", "2001/0123456A", "needs F"),
    ("pnc", "2001-0123456F", "YYYY/NNNNNNNC"),
    ("nhs", "943 476 5919", "not one of noms, crn, pnc or local:AGENCY"),
    ("local:WMIDS", "", "non-empty"),
])
def test_a_bad_identifier_is_refused_saying_what_it_should_look_like(scheme, given, says):
    with pytest.raises(InvalidInput, match=says):
        identity.normalise(scheme, given)


def test_the_check_character_is_the_year_and_serial_modulo_23():
    # 01 followed by 0123456 is 10123456 = 23 * 440150 + 6, and letter 6 of ZABCDEFG... is F.
    assert identity.pnc_check_letter("2001", "0123456") == "F"


def person(reference: str, given: str = "Sam", family: str = "Example", **identifiers) -> dict:
    return {"type": "person", "reference": reference, "given_name": given,
            "family_name": family, "date_of_birth": "1990-05-05", "home_area": "WMIDS",
            "identifiers": {k.replace("_", ":"): v for k, v in identifiers.items()}}


def identifiers(session, reference: str) -> dict[str, str]:
    rows = session.execute(
        select(PersonIdentifier.scheme, PersonIdentifier.value)
        .join(Person, Person.id == PersonIdentifier.person_id)
        .where(Person.reference == reference)
    ).all()
    return dict(rows)


def test_identifiers_are_saved_and_audited(session):
    region(session)
    load(session, person("P-1", noms="A1234BC", crn="X123456", pnc="01/123456F",
                         local_WMIDS="wm-1"))
    assert identifiers(session, "P-1") == {"noms": "A1234BC", "crn": "X123456",
                                           "pnc": "2001/0123456F", "local:WMIDS": "WM-1"}
    added = session.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "person.identifier_added")).scalars().all()
    assert {d["scheme"] for d in added} == {"noms", "crn", "pnc", "local:WMIDS"}


def test_a_record_naming_a_held_identifier_is_linked_to_its_holder_not_given_it(session):
    region(session)
    load(session, person("P-1", noms="A1234BC"))
    load(session, person("P-9", "Samuel", crn="X123456", noms="A1234BC"))
    assert identifiers(session, "P-1") == {"noms": "A1234BC"}
    assert identifiers(session, "P-9") == {"crn": "X123456"}  # noms stays with its holder
    link = session.execute(select(PersonLink)).scalar_one()
    assert link.reason == "both records name noms A1234BC" and link.unlinked_on is None
    # Both records stay as they were written.
    names = dict(session.execute(select(Person.reference, Person.given_name)).all())
    assert names == {"P-1": "Sam", "P-9": "Samuel"}
    # Saving the twin again links nothing twice.
    load(session, person("P-9", "Samuel", noms="A1234BC"))
    assert len(session.execute(select(PersonLink)).all()) == 1


def test_a_new_value_of_a_scheme_replaces_the_old_one_audited(session):
    region(session)
    load(session, person("P-1", crn="X123456"))
    load(session, person("P-1", crn="X654321"))
    assert identifiers(session, "P-1") == {"crn": "X654321"}
    changed = session.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "person.identifier_changed")).scalar_one()
    assert (changed["before"], changed["after"]) == ("X123456", "X654321")


def test_a_local_reference_of_an_unknown_agency_is_refused(session):
    region(session)
    with pytest.raises(DomainError, match="unknown agency 'NOWHERE'"):
        load(session, person("P-1", local_NOWHERE="1"))
    assert session.execute(select(Person)).first() is None  # nothing of the unit was kept


def test_the_database_refuses_a_second_holder_of_a_value(session):
    """The unique (scheme, value) constraint backs up the operation's own check."""
    region(session)
    load(session, person("P-1", noms="A1234BC"), person("P-2"))
    with (pytest.raises(Exception, match="(?i)unique"),
          ops.unit_of_work(session, ops.Actor.system("test")) as uow):
        p2 = uow.person("P-2")
        uow.insert(PersonIdentifier, id=uow.new_id(PersonIdentifier), person_id=p2.id,
                   scheme="noms", value="A1234BC")
        uow.session.flush()
