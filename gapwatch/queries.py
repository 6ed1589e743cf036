"""Reading journeys out of the database as `gapwatch.journey` facts, one case or many at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import String, bindparam, cast, exists, false, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import (
    Agency,
    Case,
    Flag,
    FlagAcknowledgement,
    Handoff,
    Ownership,
    Person,
)

# Aliases, so `visible_to_agency` holds inside a query that joins Person, Agency or Flag itself.
_HOME_PERSON, _TOLD, _TOLD_BY = aliased(Person), aliased(Agency), aliased(Flag)


def _told_pattern(agency_id):
    """The LIKE pattern of a notify list naming the agency: its code read once a statement
    (a scalar subquery the database runs once), not joined again for every case."""
    code = select(_TOLD.code).where(_TOLD.id == agency_id).scalar_subquery()
    return literal('%"') + code + literal('"%')


def visible_to_agency(agency_id):
    """Return a WHERE clause on Case keeping the cases agency `agency_id` is involved in.

    The case managers' rule (`gapwatch.web.access`), also the API's and the bulk export's: the
    agency owns or owned the case, sent it on or was asked to take it, is its person's home area,
    or a flag on it tells the agency of a gap (a JSON list quotes each code, and agency codes hold
    no LIKE wildcards: `operations.records.AGENCY_CODE`). Each clause is correlated on Case
    alone, so it holds inside a query of any other table. `agency_id` may be a bound parameter.
    """
    if agency_id is None:
        return false()  # comparing with NULL would match intakes and persons without a home area
    return or_(
        exists().where(Ownership.case_id == Case.id, Ownership.agency_id == agency_id)
        .correlate(Case),
        exists().where(
            Handoff.case_id == Case.id,
            or_(Handoff.to_agency_id == agency_id, Handoff.from_agency_id == agency_id),
        ).correlate(Case),
        exists().where(_HOME_PERSON.id == Case.person_id, _HOME_PERSON.home_area_id == agency_id)
        .correlate(Case),
        exists().where(_TOLD_BY.case_id == Case.id,
                       cast(_TOLD_BY.notify, String).like(_told_pattern(agency_id)))
        .correlate(Case),
    )


# Built once, with the case ids bound at each call: building them cost more than running
# them for a single case page.
_IDS = bindparam("ids", expanding=True)
_HOME, _SENDER, _RECEIVER = aliased(Agency), aliased(Agency), aliased(Agency)
CASES_QUERY = (
    select(
        Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
        Case.expected_release_on, Person.date_of_birth, _HOME.code, Person.restricted,
        Person.reference,
    )
    .join(Person, Person.id == Case.person_id)
    .outerjoin(_HOME, _HOME.id == Person.home_area_id)
    .where(Case.id.in_(_IDS))
)
OWNERSHIPS_QUERY = (
    select(
        Ownership.case_id, Ownership.id, Agency.code, Agency.kind, Ownership.role,
        Ownership.starts_on, Ownership.ends_on, Ownership.officer,
        Ownership.allocated_on, Ownership.handoff_id, Ownership.self_started,
    )
    .join(Agency, Agency.id == Ownership.agency_id)
    .where(Ownership.case_id.in_(_IDS))
)
HANDOFFS_QUERY = (
    select(
        Handoff.case_id, Handoff.id, Handoff.kind, Handoff.role, _SENDER.code,
        _RECEIVER.code, Handoff.requested_on, Handoff.due_on, Handoff.status,
        Handoff.decided_on, Handoff.reason, _RECEIVER.kind,
    )
    .outerjoin(_SENDER, _SENDER.id == Handoff.from_agency_id)
    .join(_RECEIVER, _RECEIVER.id == Handoff.to_agency_id)
    .where(Handoff.case_id.in_(_IDS))
)


def load_journeys(session: Session, case_ids: Iterable[int]) -> dict[int, Journey]:
    """Load the journeys of the given cases in three queries per 1,000 cases.

    For readers: it reads through the session's connection, which skips the ORM's autoflush,
    so changes a unit of work has not flushed yet are not seen.
    """
    ids = list(case_ids)
    journeys: dict[int, Journey] = {}
    read = session.connection().execute  # Core rows: the columns, no ORM entities
    for start in range(0, len(ids), 1000):
        chunk = {"ids": ids[start : start + 1000]}
        cases = {row[0]: CaseFacts(*row) for row in read(CASES_QUERY, chunk)}
        ownerships, handoffs = defaultdict(list), defaultdict(list)
        for row in read(OWNERSHIPS_QUERY, chunk):
            ownerships[row[0]].append(OwnershipFacts(*row[1:]))
        for row in read(HANDOFFS_QUERY, chunk):
            handoffs[row[0]].append(HandoffFacts(*row[1:]))
        for case_id, facts in cases.items():
            journeys[case_id] = Journey(facts, ownerships[case_id], handoffs[case_id])
    return journeys


def load_journey(session: Session, reference: str) -> Journey | None:
    """Load one case's journey by its reference, or None if there is no such case."""
    case_id = session.execute(select(Case.id).where(Case.reference == reference)).scalar()
    if case_id is None:
        return None
    return load_journeys(session, [case_id])[case_id]


def acknowledgements_of(session: Session, flag_ids: list[int]) -> dict[int, list]:
    """Return who acknowledged each of these flags, with their notes, in one query."""
    found: dict[int, list] = {}
    if flag_ids:
        for row in session.execute(
            select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency,
                   FlagAcknowledgement.note, FlagAcknowledgement.acknowledged_by,
                   FlagAcknowledgement.acknowledged_on, FlagAcknowledgement.snoozed_until)
            .where(FlagAcknowledgement.flag_id.in_(flag_ids))
            .order_by(FlagAcknowledgement.acknowledged_on, FlagAcknowledgement.agency)
        ):
            found.setdefault(row.flag_id, []).append(row)
    return found
