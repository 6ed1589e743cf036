"""Reading journeys out of the database as `gapwatch.journey` facts, one case or many at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import Agency, Case, Handoff, Ownership, Person

# Made once: an alias copies its table's columns, which costs more per call than the query.
HOME, SENDER, RECEIVER = aliased(Agency), aliased(Agency), aliased(Agency)


def _case_rows(session: Session, where):
    return session.execute(
        select(
            Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
            Case.expected_release_on, Person.date_of_birth, HOME.code, Person.restricted,
            Person.reference,
        )
        .join(Person, Person.id == Case.person_id)
        .outerjoin(HOME, HOME.id == Person.home_area_id)
        .where(where)
    ).all()


def load_journeys(session: Session, case_ids: Iterable[int]) -> dict[int, Journey]:
    """Load the journeys of the given cases in three queries per 1,000 cases."""
    ids = list(case_ids)
    journeys: dict[int, Journey] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        cases = {row[0]: CaseFacts(*row) for row in _case_rows(session, Case.id.in_(chunk))}
        ownerships, handoffs = defaultdict(list), defaultdict(list)
        for row in session.execute(
            select(
                Ownership.case_id, Ownership.id, Agency.code, Agency.kind, Ownership.role,
                Ownership.starts_on, Ownership.ends_on, Ownership.officer,
                Ownership.allocated_on, Ownership.handoff_id,
            )
            .join(Agency, Agency.id == Ownership.agency_id)
            .where(Ownership.case_id.in_(chunk))
        ):
            ownerships[row[0]].append(OwnershipFacts(*row[1:]))
        for row in session.execute(
            select(
                Handoff.case_id, Handoff.id, Handoff.kind, Handoff.role, SENDER.code,
                RECEIVER.code, Handoff.requested_on, Handoff.due_on, Handoff.status,
                Handoff.decided_on, Handoff.reason, RECEIVER.kind,
            )
            .outerjoin(SENDER, SENDER.id == Handoff.from_agency_id)
            .join(RECEIVER, RECEIVER.id == Handoff.to_agency_id)
            .where(Handoff.case_id.in_(chunk))
        ):
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
