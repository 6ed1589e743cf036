"""The journeys of every case open on a day, as they stood at its end, read in bulk and in chunks.

The rule engine reads the journey store with three set-based queries per chunk of cases (the
open cases by id, then the ownerships and handoffs of that id range; `ranges` finds each chunk's
id range with two more), so memory stays flat
however many cases there are, and never one query per case. Rows dated after the day are left
out in the query; what was decided or ended later is undone by `Journey.as_of`. Queries go straight to the session's connection (Core rows, no ORM
loading), which halves the cost of reading. The id ranges
(`ranges`) also let several processes read a day's journeys side by side. The cases of linked
persons are read as one journey, and the open proposals of each person noted (`gapwatch.linked`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from gapwatch import linked
from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import Agency, Case, Contract, Handoff, Ownership, Person
from gapwatch.rules import Contract as ContractFacts

CHUNK = 5000


def open_on(day: date):
    """Return the WHERE clause of the cases open on `day`."""
    return (Case.opened_on <= day) & or_(Case.closed_on.is_(None), Case.closed_on > day)


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
    )):
        provider = known[row[0]][0]
        found[provider].append(ContractFacts(provider, known[row[1]][0], *row[2:]))
    return {code: tuple(items) for code, items in found.items()}


def _cases(session: Session, day: date, which, known) -> list[CaseFacts]:
    rows = session.connection().execute(
        select(
            Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
            Case.expected_release_on, Person.date_of_birth, Person.home_area_id,
            Person.restricted, Person.reference,
        )
        .join(Person, Person.id == Case.person_id)
        .where(which(Case.id), open_on(day))
        .order_by(Case.id)
    ).all()
    return [
        # Open on `day`: a later closing has not happened yet.
        CaseFacts(r[0], r[1], r[2], None, r[4], r[5], r[6],
                  known[r[7]][0] if r[7] is not None else None, r[8], r[9])
        for r in rows
    ]


def _ownerships(session: Session, day: date, which, known) -> dict[int, list]:
    found = defaultdict(list)
    for r in session.connection().execute(
        select(
            Ownership.case_id, Ownership.id, Ownership.agency_id, Ownership.role,
            Ownership.starts_on, Ownership.ends_on, Ownership.officer, Ownership.allocated_on,
            Ownership.handoff_id,
        ).where(which(Ownership.case_id), Ownership.starts_on <= day)
    ):
        code, kind = known[r[2]]
        found[r[0]].append(OwnershipFacts(r[1], code, kind, r[3], r[4], r[5], r[6], r[7], r[8]))
    return found


def _handoffs(session: Session, day: date, which, known) -> dict[int, list]:
    found = defaultdict(list)
    for r in session.connection().execute(
        select(
            Handoff.case_id, Handoff.id, Handoff.kind, Handoff.role, Handoff.from_agency_id,
            Handoff.to_agency_id, Handoff.requested_on, Handoff.due_on, Handoff.status,
            Handoff.decided_on, Handoff.reason,
        ).where(which(Handoff.case_id), Handoff.requested_on <= day)
    ):
        sender = known[r[4]][0] if r[4] is not None else None
        receiver, receiver_kind = known[r[5]]
        found[r[0]].append(HandoffFacts(r[1], r[2], r[3], sender, receiver, r[6], r[7], r[8],
                                        r[9], r[10], receiver_kind))
    return found


def _changed_after(day: date, ownerships: list, handoffs: list) -> bool:
    """Tell whether anything of these rows happened after `day` and must be undone."""
    for o in ownerships:
        if (o.ends_on is not None and o.ends_on > day) or (
            o.allocated_on is not None and o.allocated_on > day
        ):
            return True
    return any(h.decided_on is not None and h.decided_on > day for h in handoffs)


def open_between(first: date, last: date):
    """Return the WHERE clause of the cases open on at least one day of `[first, last]`."""
    return (Case.opened_on <= last) & or_(Case.closed_on.is_(None), Case.closed_on > first)


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


def journeys_between(session: Session, day: date, first: int, last: int, known) -> list[Journey]:
    """Return the journeys, as of `day`, of the cases with ids first..last open on `day`."""
    return _journeys(session, day, lambda case_id: case_id.between(first, last), known)


def journeys_of(session: Session, day: date, ids: list[int], known) -> list[Journey]:
    """Return the journeys, as of `day`, of those of the cases `ids` open on `day`."""
    journeys = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        journeys += _journeys(session, day, lambda case_id, chunk=chunk: case_id.in_(chunk),
                              known)
    return journeys


def _journeys(session: Session, day: date, which, known) -> list[Journey]:
    cases = _cases(session, day, which, known)
    ownerships = _ownerships(session, day, which, known)
    handoffs = _handoffs(session, day, which, known)
    journeys = []
    for case in cases:
        held, asked = ownerships.get(case.id, []), handoffs.get(case.id, [])
        journey = Journey(case, held, asked)
        if _changed_after(day, held, asked):
            journey = journey.as_of(day)
        journeys.append(journey)
    return linked.join(session, day, journeys, which(Case.id))


def journeys_ahead(session: Session, day: date, until: date, first: int, last: int,
                   known, where=None) -> list[Journey]:
    """Return the journeys of the cases with ids first..last open on a day of `[day, until]`
    (and kept by the WHERE clause on Case `where`, if given), with every row dated up to
    `until`: what is known now of the days ahead. `as_of` a day of them gives the journey a
    scan of that day reads."""
    def which(case_id):
        span = case_id.between(first, last)
        if where is None:
            return span
        # Its own FROM case (not correlated): the outer query may be of case itself.
        kept = select(Case.id).where(Case.id.between(first, last), where).correlate(None)
        return and_(span, case_id.in_(kept))

    rows = session.connection().execute(
        select(
            Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
            Case.expected_release_on, Person.date_of_birth, Person.home_area_id,
            Person.restricted, Person.reference,
        )
        .join(Person, Person.id == Case.person_id)
        .where(which(Case.id), open_between(day, until))
        .order_by(Case.id)
    ).all()
    ownerships = _ownerships(session, until, which, known)
    handoffs = _handoffs(session, until, which, known)
    return [
        Journey(CaseFacts(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                          known[r[7]][0] if r[7] is not None else None, r[8], r[9]),
                ownerships.get(r[0], []), handoffs.get(r[0], []))
        for r in rows
    ]
