"""The journeys the rules read, in bulk and in chunks: one reader for the scan, the re-check
after a unit of work and the forecast.

Each chunk of cases is read with three queries (the cases with their persons, then the
ownerships and handoffs of the same cases) through the plain DB-API cursor into tuples: no ORM
rows, no result processing. `ranges` finds each chunk's id range with two more, so memory stays
flat however many cases there are, and several processes can read a day's journeys side by
side. The reader returns each journey whole, with the rows dated after the day too: the rules
read it `as_of` the day (`standing`), and the turning points (`gapwatch.rules.next_change`)
read what lies ahead. The cases of linked persons are read as one journey, and the open
proposals of each person noted (`gapwatch.linked`), for every reader alike.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date

from sqlalchemy import Integer, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlmodel import Session

from gapwatch import linked
from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import Agency, Case, Contract, Handoff, Ownership, Person
from gapwatch.rules import Contract as ContractFacts

CHUNK = 5000


def open_on(day: date):
    """Return the WHERE clause of the cases open on `day`."""
    return (Case.opened_on <= day) & or_(Case.closed_on.is_(None), Case.closed_on > day)


def open_between(first: date, last: date):
    """Return the WHERE clause of the cases open on at least one day of `[first, last]`."""
    return (Case.opened_on <= last) & or_(Case.closed_on.is_(None), Case.closed_on > first)


def agencies(session: Session) -> dict[int, tuple[str, str]]:
    """Return each agency's (code, kind) by id."""
    return {row[0]: (row[1], row[2]) for row in session.connection().execute(
        select(Agency.id, Agency.code, Agency.kind))}


def contracts(session: Session, known: dict[int, tuple[str, str]]) -> dict[str, tuple]:
    """Return every contract, grouped by the provider's code."""
    found = defaultdict(list)
    for row in session.connection().execute(select(
        Contract.provider_id, Contract.commissioner_id, Contract.service, Contract.starts_on,
        Contract.ends_on,
    ).order_by(Contract.id)):
        provider = known[row[0]][0]
        found[provider].append(ContractFacts(provider, known[row[1]][0], *row[2:]))
    return {code: tuple(items) for code, items in found.items()}


# -- the plain cursor -----------------------------------------------------------------------------
def tuples(session: Session, statement) -> list[tuple]:
    """Run a Core SELECT on the session's connection and return the driver's own tuples.

    SQLAlchemy compiles the statement (once: its compiled cache keeps it for the next call with
    other values) and binds the values; the rows are read straight from the DB-API cursor,
    with none of the result's per-row processing. SQLite's driver answers days as ISO text:
    callers read them through `Days`.
    """
    result = session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


class Days(dict):
    """Days as the driver answers them, as `date`s: SQLite's text parsed once per distinct day."""

    def __missing__(self, text):
        found = self[text] = date.fromisoformat(text)
        return found

    def __call__(self, value):
        if value is None or type(value) is date:
            return value
        return self[value]


class Codes(dict):
    """Agency codes of a flag's `notify` read as its text, each once and in order: each distinct
    list decoded once (a handful recur across every flag of a region)."""

    def __missing__(self, text):
        found = self[text] = tuple(dict.fromkeys(json.loads(text))) if text else ()
        return found


# -- the journeys ---------------------------------------------------------------------------------
Which = Callable  # a column of case ids -> the WHERE clause keeping the chunk's cases


def journeys(session: Session, day: date, which: Which, known, *,
             until: date | None = None, links: linked.Links | None = None) -> list[Journey]:
    """Return the whole journeys of the cases `which` keeps that are open on `day` (with
    `until`: on a day of `[day, until]`), in id order,
    linked persons' cases read as one as of `day` (by `links`, when read for a whole pass)."""
    d = Days()
    opened = open_on(day) if until is None else open_between(day, until)
    cases = tuples(session, select(
        Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
        Case.expected_release_on, Person.date_of_birth, Person.home_area_id, Person.restricted,
        Person.reference,
    ).join(Person, Person.id == Case.person_id).where(which(Case.id), opened).order_by(Case.id))
    ownerships = select(
        Ownership.case_id, Ownership.id, Ownership.agency_id, Ownership.role, Ownership.starts_on,
        Ownership.ends_on, Ownership.officer, Ownership.allocated_on, Ownership.handoff_id,
    ).where(which(Ownership.case_id))
    handoffs = select(
        Handoff.case_id, Handoff.id, Handoff.kind, Handoff.role, Handoff.from_agency_id,
        Handoff.to_agency_id, Handoff.requested_on, Handoff.due_on, Handoff.status,
        Handoff.decided_on, Handoff.reason,
    ).where(which(Handoff.case_id))
    held = defaultdict(list)
    for case_id, i, agency, role, starts, ends, officer, allocated, handoff in tuples(
            session, ownerships):
        code, kind = known[agency]
        held[case_id].append(OwnershipFacts(i, code, kind, role, d(starts), d(ends), officer,
                                            d(allocated), handoff))
    asked = defaultdict(list)
    for (case_id, i, kind, role, sender, receiver, requested, due, status, decided,
         reason) in tuples(session, handoffs):
        to_code, to_kind = known[receiver]
        asked[case_id].append(HandoffFacts(
            i, kind, role, known[sender][0] if sender is not None else None, to_code,
            d(requested), d(due), status, d(decided), reason, to_kind))
    found = [
        Journey(CaseFacts(i, reference, d(opened_on), d(closed_on), risk, d(release), d(born),
                          known[home][0] if home is not None else None, bool(restricted),
                          person), held.get(i, ()), asked.get(i, ()))
        for (i, reference, opened_on, closed_on, risk, release, born, home, restricted,
             person) in cases
    ]
    return linked.join(session, day, found, which(Case.id), links)


def later(journey: Journey, day: date) -> bool:
    """Tell whether anything of the journey is dated after `day`, and must be undone to read it
    as it stood at the end of `day`."""
    case = journey.case
    if case.closed_on is not None and case.closed_on > day:
        return True
    for o in journey.ownerships:
        if o.starts_on > day or (o.ends_on is not None and o.ends_on > day) or (
                o.allocated_on is not None and o.allocated_on > day):
            return True
    return any(h.requested_on > day or (h.decided_on is not None and h.decided_on > day)
               for h in journey.handoffs)


def standing(journey: Journey, day: date) -> Journey:
    """Return the journey as it stood at the end of `day` (itself, when nothing is later)."""
    return journey.as_of(day) if later(journey, day) else journey


def ranges(session: Session, day: date, size: int = CHUNK, *,
           where=None) -> Iterator[tuple[int, int]]:
    """Yield (first id, last id) ranges holding `size` cases open on `day` each (the last fewer),
    or `size` cases of the WHERE clause `where`."""
    clause = open_on(day) if where is None else where
    after = 0
    while True:
        first = session.connection().execute(
            select(Case.id).where(Case.id > after, clause).order_by(Case.id).limit(1)
        ).scalar()
        if first is None:
            return
        last = session.connection().execute(
            select(Case.id).where(Case.id >= first, clause).order_by(Case.id)
            .offset(size - 1).limit(1)
        ).scalar()
        if last is None:
            last = session.connection().execute(select(func.max(Case.id))).scalar()
        yield first, last
        after = last


def between(first: int, last: int) -> Which:
    return lambda case_id: case_id.between(first, last)


def among(ids: list[int]) -> Which:
    if len(ids) < FEW_IDS:  # a statement SQLAlchemy can keep compiled (a unit of work's)
        return lambda case_id: case_id.in_(ids)
    return lambda case_id: AmongIds(case_id, ids)


FEW_IDS = 100


class AmongIds(ColumnElement):
    """`column IN (ids)`, sent to PostgreSQL as one array parameter (`column = ANY(...)`): a
    statement with a thousand placeholders cost psycopg more to parse than the server to run
    (13% of a daily scan at 500,000 cases). Elsewhere, the usual IN list."""

    type = NullType()  # not Boolean: SQLite would be asked `IN (...) = 1`, which no index serves
    inherit_cache = False  # the ids are not a cache key's: such statements are not cached

    def __init__(self, column, ids):
        self.column, self.ids = column, list(ids)


@compiles(AmongIds)
def _among_in(element: AmongIds, compiler, **kw) -> str:
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(AmongIds, "postgresql")
def _among_any(element: AmongIds, compiler, **kw) -> str:
    ids = bindparam(None, element.ids, type_=ARRAY(Integer))
    return compiler.process(element.column == any_(ids), **kw)


def journeys_between(session: Session, day: date, first: int, last: int, known) -> list[Journey]:
    """Return the journeys, as of `day`, of the cases with ids first..last open on `day`."""
    return [standing(j, day) for j in journeys(session, day, between(first, last), known)]


def journeys_of(session: Session, day: date, ids: list[int], known) -> list[Journey]:
    """Return the whole journeys of those of the cases `ids` open on `day`."""
    found = []
    for start in range(0, len(ids), 1000):
        found += journeys(session, day, among(ids[start:start + 1000]), known)
    return found


def journeys_ahead(session: Session, day: date, until: date, first: int, last: int,
                   known, links: linked.Links | None = None) -> list[Journey]:
    """Return the whole journeys of the cases with ids first..last open on a day of
    `[day, until]`: what is known now of the days ahead, and after them (what the forecast
    keeps holds until the first day a rule's answer could change). `as_of` a day of them gives
    the journey a scan of that day reads; linked persons are joined as the scan of `day` joins
    them."""
    return journeys(session, day, between(first, last), known, until=until, links=links)
