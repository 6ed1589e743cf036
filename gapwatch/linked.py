"""One journey per person: the cases of linked person records read as one journey.

When two person records are linked (`operations.link_persons`), their open cases are one
person's journey: a prison's release on one record and nobody on the probation record is a gap,
two areas holding the two records is dual ownership. The rules therefore see one journey per
linked group, on the group's *lead* case (its open case with the lowest id): the lead's journey
holds every ownership and handoff of the group's open cases, and each other case of the group is
marked `linked_into` the lead, so the engine runs no rule on it alone (its old flags resolve).

The merged case takes the earliest opening day, the most severe risk, the earliest expected
release, and the lead's person, date of birth and home area (another's where the lead has none);
it is restricted if any record is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch import queries
from gapwatch.journey import Journey, Twin
from gapwatch.models import Case, LinkProposal, Person, PersonLink, ProposalStatus, RiskLevel
from gapwatch.operations.identity import group_of, groups, groups_of

RISK_ORDER = tuple(level.value for level in RiskLevel)  # the lowest first


def _open_on(day: date):
    return (Case.opened_on <= day) & or_(Case.closed_on.is_(None), Case.closed_on > day)


def merge(lead: Journey, others: list[Journey]) -> Journey:
    """Return `lead`'s journey with the ownerships and handoffs of `others` read into it."""
    if not others:
        return lead
    cases = [lead.case, *(j.case for j in others)]
    releases = [c.expected_release_on for c in cases if c.expected_release_on]
    case = replace(
        lead.case,
        opened_on=min(c.opened_on for c in cases),
        risk_level=max((c.risk_level for c in cases), key=RISK_ORDER.index),
        expected_release_on=min(releases, default=None),
        home_area=lead.case.home_area or next((c.home_area for c in cases if c.home_area), None),
        restricted=any(c.restricted for c in cases),
        linked=tuple(sorted(c.reference for c in cases[1:])),
        # A person with two open cases in the group carries each proposal on both: once here.
        twins=tuple(dict.fromkeys(t for c in cases for t in c.twins)),
    )
    return Journey(case, [o for j in [lead, *others] for o in j.ownerships],
                   [h for j in [lead, *others] for h in j.handoffs])


def _linked_cases(session: Session, person_ids: set[int], day: date | None) -> dict[int, int]:
    """Return {case id: person id} of these persons' cases (open on `day`, if given)."""
    query = select(Case.id, Case.person_id).where(Case.person_id.in_(sorted(person_ids)))
    if day is not None:
        query = query.where(_open_on(day))
    return dict(session.connection().execute(query).all())


def _has_link():
    return exists().where(PersonLink.unlinked_on.is_(None), or_(
        PersonLink.person_a_id == Case.person_id, PersonLink.person_b_id == Case.person_id))


def twins_of(session: Session, case_ids) -> dict[int, tuple[Twin, ...]]:
    """Return the open proposals about the persons of these cases, by case id."""
    found = defaultdict(list)
    for mine, other in (("person_a_id", "person_b_id"), ("person_b_id", "person_a_id")):
        rows = session.connection().execute(
            select(Case.id, LinkProposal.id, Person.reference, LinkProposal.probability,
                   LinkProposal.proposed_on, Person.restricted, Person.id)
            .join(LinkProposal, and_(getattr(LinkProposal, mine) == Case.person_id,
                                     LinkProposal.status == ProposalStatus.open.value))
            .join(Person, Person.id == getattr(LinkProposal, other))
            .where(case_ids)
        )
        for case_id, proposal, person, probability, proposed_on, restricted, person_id in rows:
            found[case_id].append(Twin(proposal, person, probability, proposed_on, restricted,
                                       person_id))
    return {k: tuple(sorted(v, key=lambda t: t.proposal)) for k, v in found.items()}


@dataclass(frozen=True)
class Links:
    """Every open proposal and every group of linked persons, read once for a pass over many
    chunks (a scan's read, a forecast) instead of again for each chunk."""

    twins: Mapping[str, tuple[Twin, ...]]  # by person reference, as `twins_of` gives them
    group_of: Mapping[int, frozenset[int]]  # `gapwatch.operations.identity.groups`

    @classmethod
    def read(cls, session: Session) -> Links:
        a, b = aliased(Person), aliased(Person)
        found = defaultdict(list)
        for proposal, probability, proposed_on, *persons in session.connection().execute(
            select(LinkProposal.id, LinkProposal.probability, LinkProposal.proposed_on,
                   a.reference, a.restricted, a.id, b.reference, b.restricted, b.id)
            .join(a, a.id == LinkProposal.person_a_id).join(b, b.id == LinkProposal.person_b_id)
            .where(LinkProposal.status == ProposalStatus.open.value)
        ):
            first, second = persons[:3], persons[3:]
            for mine, other in ((first, second), (second, first)):
                found[mine[0]].append(Twin(proposal, other[0], probability, proposed_on,
                                           other[1], other[2]))
        return cls({k: tuple(sorted(v, key=lambda t: t.proposal)) for k, v in found.items()},
                   groups(session))


def join(session: Session, day: date, journeys: list[Journey], case_ids,
         links: Links | None = None) -> list[Journey]:
    """Return one chunk's journeys with linked persons' cases read as one, the groups as they
    stand on `day`. The journeys are whole, rows dated after `day` included: the reader
    (`gapwatch.snapshot`) reads them as of the day it needs.

    `case_ids` is a WHERE clause on Case.id keeping the chunk's cases; `links`, the proposals
    and groups as read at the start of a pass (else they are read for this chunk).
    """
    if links is None:
        twins = twins_of(session, case_ids)
    else:
        twins = {j.case.id: links.twins[j.case.person] for j in journeys
                 if j.case.person in links.twins}
    if twins:
        journeys = [Journey(replace(j.case, twins=twins[j.case.id]), j.ownerships, j.handoffs)
                    if j.case.id in twins else j for j in journeys]
    touched = dict(session.connection().execute(
        select(Case.id, Case.person_id).where(case_ids, _has_link())).all())
    if not touched:
        return journeys
    # A pass's groups as read once, else the chunk's own: their links only, not every link.
    grouped = links.group_of if links is not None else groups_of(session, touched.values())
    members = set().union(*(grouped[p] for p in touched.values()))
    person_of = _linked_cases(session, members, day)
    cases_of_group: dict[frozenset, list[int]] = defaultdict(list)
    for case_id, person_id in person_of.items():
        cases_of_group[grouped[person_id]].append(case_id)
    lead_of = {case_id: min(ids) for ids in cases_of_group.values() for case_id in ids}
    here = {j.case.id for j in journeys}
    wanted = {c for j in journeys if lead_of.get(j.case.id) == j.case.id
              for c in cases_of_group[grouped[person_of[j.case.id]]] if c not in here}
    loaded = {**{j.case.id: j for j in journeys},
              **queries.load_journeys(session, wanted)}
    if wanted:
        for case_id, found in twins_of(session, Case.id.in_(sorted(wanted))).items():
            j = loaded[case_id]
            loaded[case_id] = Journey(replace(j.case, twins=found), j.ownerships, j.handoffs)
    references = {case_id: j.case.reference for case_id, j in loaded.items()}
    result = []
    for journey in journeys:
        lead = lead_of.get(journey.case.id)
        if lead is None:
            result.append(journey)
        elif lead == journey.case.id:
            group = cases_of_group[grouped[person_of[lead]]]
            result.append(merge(journey, [loaded[c] for c in sorted(group) if c != lead]))
        else:
            reference = references.get(lead) or _reference(session, lead)
            result.append(Journey(replace(journey.case, linked_into=reference),
                                  journey.ownerships, journey.handoffs))
    return result


def _reference(session: Session, case_id: int) -> str:
    return session.connection().execute(select(Case.reference).where(Case.id == case_id)).scalar()


def journey_of_person(session: Session, journey: Journey, person_id: int,
                      day: date) -> Journey:
    """Return a case's journey with the open cases of the persons linked to its person (a page).

    Unlike the scan it reads the cases of linked persons whatever their state on `day`, except
    those closed by then, and always reads them into the given case's journey.
    """
    group = group_of(session, person_id)
    if len(group) < 2:
        return journey
    others = [c for c in _linked_cases(session, set(group), None) if c != journey.case.id]
    loaded = queries.load_journeys(session, others)
    kept = [j for j in loaded.values() if j.case.closed_on is None or j.case.closed_on > day]
    return merge(journey, sorted(kept, key=lambda j: j.case.id))

