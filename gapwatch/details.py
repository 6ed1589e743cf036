"""A restricted person's details: who may open them, read many cases at once, and how texts
built from them are withheld from everyone else.

The rule is `authority.may_open_details` (SPEC.md "Who may do what"): auditors, and agencies
holding an ownership of the case on the day that they did not give themselves outside a gap;
nobody else, administrators included. A person's details are their names, date of birth
(and what is reckoned from it, such as the 18th birthday), identifiers and person reference.

`authority` decides on one journey; the queues, the search, the digests and the links page
ask about many cases at once, so `opened_to` is the same rule as one SQL clause, and
`opened_cases` / `opened_persons` read it for a page of rows in one query. `withhold` takes
the details out of an audit entry's detail (the case page's history, `/audit`, exports).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, exists, false, or_, select, true
from sqlmodel import Session

from gapwatch.models import Case, Ownership, Person, active_on

# Keys of audit details (and of records in exports) that carry a person's details.
PERSONAL = frozenset({"person", "persons", "other_person", "given_name", "family_name",
                      "date_of_birth", "name", "eighteenth_birthday", "identifiers",
                      "identifier", "value", "person_a", "person_b"})
WITHHELD = "withheld"


def _opening(day: date):
    """An ownership that opens its case's details to its agency: active on `day`, and not one
    the agency gave itself outside a gap (`Ownership.self_started`)."""
    return and_(Ownership.self_started.is_(False), active_on(day))


def opened_to(agency_id: int | None, day: date, *, auditor: bool = False):
    """Return a WHERE clause on Case (joined to its Person) keeping the cases whose person's
    details the agency may open on `day`: as `authority.may_open_details` reads it."""
    if auditor:
        return true()
    held = (exists().where(Ownership.case_id == Case.id, Ownership.agency_id == agency_id,
                           _opening(day))
            if agency_id is not None else false())
    return or_(Person.restricted.is_(False), held)


def openers(session: Session, day: date) -> dict[int, set[int]]:
    """Return, for each restricted person's case, the agencies (by id) that may open its
    details on `day`; a case nobody may open (but auditors) is absent."""
    found: dict[int, set[int]] = {}
    for case_id, agency_id in session.execute(
        select(Ownership.case_id, Ownership.agency_id)
        .join(Case, Case.id == Ownership.case_id)
        .join(Person, Person.id == Case.person_id)
        .where(Person.restricted, _opening(day))
    ):
        found.setdefault(case_id, set()).add(agency_id)
    return found


def opened_cases(session: Session, case_ids: Iterable[int], agency_id: int | None, day: date,
                 *, auditor: bool = False) -> set[int]:
    """Return those of `case_ids` whose person's details the agency may open, in one query."""
    ids = sorted(set(case_ids))
    if auditor or not ids:
        return set(ids)
    return set(session.execute(
        select(Case.id).join(Person, Person.id == Case.person_id)
        .where(Case.id.in_(ids), opened_to(agency_id, day))
    ).scalars())


def opened_persons(session: Session, person_ids: Iterable[int], agency_id: int | None,
                   day: date, *, auditor: bool = False) -> set[int]:
    """Return those of `person_ids` whose details the agency may open: persons not restricted,
    and restricted ones of whom it may open at least one case."""
    ids = sorted(set(person_ids))
    if auditor or not ids:
        return set(ids)
    open_persons = set(session.execute(
        select(Person.id).where(Person.id.in_(ids), Person.restricted.is_(False))).scalars())
    return open_persons | set(session.execute(
        select(Case.person_id).join(Person, Person.id == Case.person_id)
        .where(Case.person_id.in_(ids), opened_to(agency_id, day))
    ).scalars())


def withheld_entries(session: Session, entries: list[tuple[int | None, dict]],
                     agency_id: int | None, day: date, *, auditor: bool = False) -> set[int]:
    """Return the positions of `entries` (an audit entry's case id and detail) that are about a
    person whose details the agency may not open: by their case, or by a person they name."""
    if auditor:
        return set()
    case_ids = {case_id for case_id, _detail in entries if case_id is not None}
    closed = case_ids - opened_cases(session, case_ids, agency_id, day)
    named = {i: references_in(detail) for i, (_case, detail) in enumerate(entries)}
    wanted = sorted(set().union(*named.values()))
    restricted = dict(session.execute(select(Person.reference, Person.id).where(
        Person.reference.in_(wanted), Person.restricted)).all()) if wanted else {}
    opened = opened_persons(session, restricted.values(), agency_id, day)
    hidden = {reference for reference, pid in restricted.items() if pid not in opened}
    return {i for i, (case_id, _detail) in enumerate(entries)
            if case_id in closed or named[i] & hidden}


def withhold(detail: dict) -> dict:
    """Return an audit entry's `detail` with every personal key's value replaced by "withheld",
    however deep it sits (inside `before`, `after`, lists); a `before` or `after` that is a
    bare value (an identifier changed) is withheld too."""
    shown = _withhold(detail)
    for key in ("before", "after"):
        if key in shown and not isinstance(shown[key], dict | list) and shown[key] is not None:
            shown[key] = WITHHELD
    return shown


def _withhold(value):
    if isinstance(value, dict):
        return {k: WITHHELD if k in PERSONAL and v not in (None, "", [], {}) else _withhold(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_withhold(v) for v in value]
    return value


def references_in(detail) -> set[str]:
    """Return every person reference an audit detail names under a personal key."""
    found: set[str] = set()
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in PERSONAL and isinstance(value, str):
                found.add(value)
            elif key in PERSONAL and isinstance(value, list):
                found.update(v for v in value if isinstance(v, str))
            else:
                found |= references_in(value)
    elif isinstance(detail, list):
        for value in detail:
            found |= references_in(value)
    return found
