"""The data stamps: random numbers a unit of work replaces when it commits.

A page that keeps what it rendered may serve it again for as long as the stamps it was rendered
under are current. Every committed change to journeys, flags, agencies or users replaces the
data's stamp (row 1), which the pages of auditors and admins, who see every agency, go by.

A case manager's dashboard shows only rows of cases their agency is part of: the cases it owns
or owned, was asked to take or sent on, or is told of by a flag. So it goes by two stamps: the
one every change that may reach any agency replaces (row 2), and its agency's own, which a
change confined to some cases replaces for just the agencies those cases involve, before and
after the change. With 2 acknowledgements a second among a few hundred agencies, most
dashboards are then served again instead of rendered again.

A change is confined when everything the unit audited is an action on one case's own rows (its
handoffs, ownerships, officer, flags and their acknowledgements) named with that case: the
audit trail, which every change writes to, says what the unit did. Anything else (a person's
details, an agency, a user, a contract, a link, an import), the scan (which rewrites flags'
wording unaudited, and may stop telling an agency of a flag) and a unit that audited nothing
reach every agency. The stamps are random, not counters, so a restored backup or an emptied
test database can never bring back a stamp that once meant other data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import bindparam, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from gapwatch.db import is_sqlite
from gapwatch.models import Agency, AgencyStamp, Case, DataStamp, Flag, Handoff, Ownership, Person

DATA, ANY_AGENCY = 1, 2  # DataStamp rows

# The actions that change nothing but their case's own rows (`gapwatch.operations`, and the
# flags that follow them, `gapwatch.follow`).
CONFINED = frozenset({
    "case.opened", "case.updated", "case.closed",
    "handoff.requested", "handoff.accepted", "handoff.rejected", "handoff.withdrawn",
    "ownership.started", "ownership.ended", "officer.assigned",
    "flag.acknowledged", "flag.opened", "flag.reopened", "flag.refreshed", "flag.resolved",
})
MOST_CASES = 200  # beyond this many cases, a unit renews every agency's stamp at once

CURRENT = select(DataStamp.value).where(DataStamp.id == DATA)
OF_AGENCY = select(
    select(DataStamp.value).where(DataStamp.id == ANY_AGENCY).scalar_subquery(),
    select(AgencyStamp.value).where(AgencyStamp.agency_id == bindparam("agency_id"))
    .scalar_subquery(),
)


class Reach:
    """Which agencies' pages a unit's changes may reach, noted from what it audits."""

    __slots__ = ("cases", "codes", "everyone")

    def __init__(self) -> None:
        self.cases: set[int] = set()
        self.codes: set[str] = set()  # agencies told of a case's flags before the unit changed them
        self.everyone = False

    def note(self, action: str, case_id: int | None) -> None:
        if self.everyone:
            return
        if case_id is None or action not in CONFINED:
            self.widen()
        else:
            self.include((case_id,))

    def include(self, case_ids: Iterable[int]) -> None:
        """Note cases the unit changed without an entry of their own (a flag's new wording)."""
        if not self.everyone:
            self.cases.update(case_ids)
            if len(self.cases) > MOST_CASES:
                self.widen()

    def told_before(self, notify: Iterable[str] | None) -> None:
        """Note agencies a flag told before the unit changed it (they may no longer be told)."""
        if not self.everyone:
            self.codes.update(notify or ())

    def widen(self) -> None:
        self.everyone = True
        self.cases.clear()
        self.codes.clear()


def renew(session: Session, reach: Reach | None = None) -> None:
    """Give the data new stamps, inside the writer's transaction: the data's, and every
    agency's (with no `reach`, or one that is everyone) or those of the agencies it reaches."""
    session.flush()  # `involved` reads the rows as they will be committed
    dialect = sqlite if is_sqlite(session) else postgresql
    everyone = reach is None or reach.everyone or not reach.cases
    for row in (DATA, ANY_AGENCY) if everyone else (DATA,):
        value = secrets.randbits(62)
        session.execute(dialect.insert(DataStamp).values(id=row, value=value)
                        .on_conflict_do_update(index_elements=["id"], set_={"value": value}))
    if everyone:
        return
    agencies = involved(session, reach.cases, reach.codes)
    if agencies:
        statement = dialect.insert(AgencyStamp)
        statement = statement.on_conflict_do_update(
            index_elements=["agency_id"], set_={"value": statement.excluded.value})
        session.execute(statement, [{"agency_id": agency_id, "value": secrets.randbits(62)}
                                    for agency_id in sorted(agencies)])


def involved(session: Session, case_ids: Iterable[int], codes: Iterable[str] = ()) -> set[int]:
    """Return the ids of the agencies the cases involve: their owners, both sides of their
    handoffs, their person's home area and everyone their flags tell, with the agencies `codes`.
    They are who may see a case (`queries.visible_to_agency`, a clause per agency), with the
    agencies `codes`; a test keeps the two in step."""
    ids = sorted(case_ids)
    read = session.connection().execute
    found = set(read(union(
        select(Ownership.agency_id).where(Ownership.case_id.in_(ids)),
        select(Handoff.to_agency_id).where(Handoff.case_id.in_(ids)),
        select(Handoff.from_agency_id).where(Handoff.case_id.in_(ids)),
        select(Person.home_area_id).join(Case, Case.person_id == Person.id)
        .where(Case.id.in_(ids)),
    )).scalars())
    told = set(codes)
    for notify in read(select(Flag.notify).where(Flag.case_id.in_(ids))).scalars():
        told.update(notify or ())
    if told:
        found.update(read(select(Agency.id).where(Agency.code.in_(sorted(told)))).scalars())
    found.discard(None)
    return found


def current(session: Session) -> int | None:
    """Return the data's stamp (None before the first write)."""
    return session.connection().execute(CURRENT).scalar()


def of_agency(session: Session, agency_id: int) -> tuple[int, int | None] | None:
    """Return the stamps an agency's dashboard goes by (None before the first write)."""
    widest, own = session.connection().execute(OF_AGENCY, {"agency_id": agency_id}).one()
    return None if widest is None else (widest, own)
