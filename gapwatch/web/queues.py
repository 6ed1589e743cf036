"""The dashboard's queues, read set-based: one query per list page and one per group of counts.

A queue is seen through a `Scope`: one agency for a case manager, or whatever agency or region
an auditor or admin chose (every agency when they chose none). Lists page by `PAGE_SIZE` and
filter by a case reference or a person's name; nothing here runs a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import String, and_, case, cast, exists, false, func, or_, select, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch import tally
from gapwatch.db import is_sqlite
from gapwatch.models import (
    ACCOUNTABLE_ROLES,
    MOST_SEVERE_FIRST,
    RANK_OF_SEVERITY,
    Agency,
    Case,
    Flag,
    FlagAcknowledgement,
    FlagStatus,
    Handoff,
    HandoffStatus,
    Ownership,
    Person,
    active_on,
)
from gapwatch.queries import acknowledgements_of

PAGE_SIZE = 20
SEVERITIES = MOST_SEVERE_FIRST
SEVERITY_RANK = case(RANK_OF_SEVERITY, value=Flag.severity, else_=9)


@dataclass(frozen=True)
class Scope:
    """Which agencies' queues are shown: `agency_ids` None means every agency."""

    label: str
    agency_ids: tuple[int, ...] | None
    codes: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return self.agency_ids is None

    def has(self, column):
        """Return a clause keeping rows whose `column` (an agency id) is in scope."""
        if self.agency_ids is None:
            return column.is_not(None)
        return column.in_(self.agency_ids) if self.agency_ids else false()

    @property
    def agency(self) -> str | None:
        """The one agency in scope, whose own acknowledgements decide what is open for it."""
        return self.codes[0] if self.agency_ids is not None and len(self.codes) == 1 else None

    def notified(self, session: Session):
        """Return a clause keeping flags that notify an agency in scope."""
        if self.agency_ids is None:
            return Flag.id.is_not(None)
        if is_sqlite(session):
            text = cast(Flag.notify, String)
            return or_(false(), *(text.like(f'%"{code}"%') for code in self.codes))
        # Matches the GIN index ix_flag_notify on (notify::jsonb).
        told = cast(Flag.notify, JSONB)
        return or_(false(), *(told.contains([code]) for code in self.codes))


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    more: bool
    acks: dict = field(default_factory=dict)  # a flag page's acknowledgements, by flag id

    @property
    def restricted_case_ids(self) -> list[int]:
        return [row.case_id for row in self.rows if row.restricted]


def scope_for_agency(session: Session, code: str) -> Scope | None:
    agency = session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()
    if agency is None:
        return None
    return Scope(f"{agency.name} ({agency.code})", (agency.id,), (agency.code,))


def scope_for_region(session: Session, region: str) -> Scope | None:
    rows = session.execute(select(Agency.id, Agency.code).where(Agency.region == region)).all()
    if not rows:
        return None
    return Scope(f"the {region} region", tuple(r.id for r in rows), tuple(r.code for r in rows))


def choices(session: Session) -> tuple[list[tuple[str, str]], list[str]]:
    """Return the agencies (code, name) and regions an auditor or admin can choose from."""
    agencies = session.execute(select(Agency.code, Agency.name).order_by(Agency.code)).all()
    regions = session.execute(
        select(Agency.region).where(Agency.region != "").distinct().order_by(Agency.region)
    ).scalars().all()
    return [(a.code, a.name) for a in agencies], list(regions)


def matching(text: str | None):
    if not text:
        return None
    pattern = f"%{text.strip().lower()}%"
    # Restricted persons are found by their case reference only: their names are not for all.
    return or_(
        func.lower(Case.reference).like(pattern),
        and_(Person.restricted.is_(False),
             func.lower(Person.given_name + " " + Person.family_name).like(pattern)),
    )


def _page(session: Session, model, where: list, order: list, columns, joins, number: int,
          text: str | None, keys=None) -> Page:
    """Pick one page of `model`'s rows by `where` and `order`, then join in what they show.

    Picking first lets the database walk an index for twenty rows instead of joining every
    row of the queue to its case and person; only a text filter needs the join to pick.
    """
    number = max(number, 1)
    found = matching(text)
    if keys is None or found is not None:
        keys = select(model.id).where(*where)
        if found is not None:
            keys = keys.join(Case, Case.id == model.case_id).join(Person, Person.id == Case.person_id)
            keys = keys.where(found)
        keys = keys.order_by(*order)
    picked = keys.limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE).subquery()
    query = select(*columns).select_from(model).join(picked, picked.c.id == model.id)
    query = joins(query.join(Case, Case.id == model.case_id).join(Person, Person.id == Case.person_id))
    rows = session.execute(query.order_by(*order)).all()
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def person_columns():
    return (
        Case.id.label("case_id"), Case.reference, Case.risk_level,
        Person.given_name, Person.family_name, Person.restricted,
    )


# Due soonest first, then the oldest request: the order of the partial indexes ix_handoff_pending_*.
HANDOFF_ORDER = [Handoff.due_on.asc().nulls_last(), Handoff.id]


SENDER, RECEIVER = aliased(Agency), aliased(Agency)  # made once: an alias costs to make


def _handoffs(session: Session, side, scope: Scope, number: int, text: str | None) -> Page:
    sender, receiver = SENDER, RECEIVER
    columns = (
        Handoff.id, Handoff.kind, Handoff.role, Handoff.requested_on, Handoff.due_on,
        sender.code.label("from_agency"), receiver.code.label("to_agency"), *person_columns(),
    )

    def joins(query):
        return (query.outerjoin(sender, sender.id == Handoff.from_agency_id)
                .join(receiver, receiver.id == Handoff.to_agency_id))

    where = [Handoff.status == HandoffStatus.pending, scope.has(side)]
    return _page(session, Handoff, where, HANDOFF_ORDER, columns, joins, number, text)


def waiting(session: Session, scope: Scope, *, page: int = 1, text: str | None = None) -> Page:
    """Handoffs waiting for a decision of an agency in scope, due soonest first."""
    return _handoffs(session, Handoff.to_agency_id, scope, page, text)


def sent(session: Session, scope: Scope, *, page: int = 1, text: str | None = None) -> Page:
    """Handoffs an agency in scope asked for that are still unanswered, due soonest first."""
    return _handoffs(session, Handoff.from_agency_id, scope, page, text)


def flags(
    session: Session, scope: Scope, today: date, *, page: int = 1, text: str | None = None,
    severity: str | None = None, acknowledged: bool = False, new_since: date | None = None,
) -> Page:
    """Open flags that notify an agency in scope, most severe and oldest first; with
    `new_since`, only those first seen on or after that day (the "new since yesterday" count).

    For one agency, a flag is open until that agency acknowledges it, whatever the others said;
    for several, until every agency it tells has (the flag's own status).
    """
    if scope.agency is not None:
        mine = exists().where(FlagAcknowledgement.flag_id == Flag.id,
                              FlagAcknowledgement.agency == scope.agency)
        where = [Flag.status == FlagStatus.acknowledged, mine] if acknowledged else [
            Flag.status == FlagStatus.open, ~mine]
        # Acknowledged by everyone it tells is acknowledged by this agency too.
        if acknowledged:
            where = [or_(and_(*where), and_(Flag.status == FlagStatus.open, mine))]
    else:
        where = [Flag.status == (FlagStatus.acknowledged if acknowledged else FlagStatus.open)]
    where.append(scope.notified(session))
    if severity in SEVERITIES:
        where.append(Flag.severity == severity)
    if new_since is not None:
        where.append(Flag.first_seen_on >= new_since)
    columns = (
        Flag.id, Flag.rule, Flag.subject, Flag.severity, Flag.since, Flag.message,
        Flag.first_seen_on, Flag.status, Flag.notify, *person_columns(),
    )
    order = [SEVERITY_RANK, Flag.since, Flag.id]
    wanted = [severity] if severity in SEVERITIES else list(SEVERITIES)
    keys = _flag_keys(where, wanted, max(page, 1) * PAGE_SIZE + 1)
    found = _page(session, Flag, where, order, columns, lambda q: q, page, text, keys)
    return replace(found, acks=acknowledgements_of(session, [row.id for row in found.rows]))


def _flag_keys(where: list, severities: list[str], enough: int):
    """Each severity's first `enough` flags by the index ix_flag_queue, merged in queue order.

    One ordered index walk per severity finds a page at once, where ordering all of an
    agency's flags by severity would read every one of them first.
    """
    parts = []
    for severity in severities:
        part = (select(Flag.id, Flag.severity, Flag.since)
                .where(*where, Flag.severity == severity)
                .order_by(Flag.since, Flag.id).limit(enough).subquery())
        parts.append(select(part.c.id, part.c.severity, part.c.since))
    merged = union_all(*parts).subquery()
    rank = case(RANK_OF_SEVERITY, value=merged.c.severity, else_=9)
    return select(merged.c.id).order_by(rank, merged.c.since, merged.c.id)


def _unallocated_where(scope: Scope, today: date):
    # A closed case has no active ownership (closing ends them), so no join to the case.
    return (
        Ownership.role.in_(sorted(ACCOUNTABLE_ROLES)),
        Ownership.officer.is_(None),
        active_on(today),
        scope.has(Ownership.agency_id),
    )


def unallocated(
    session: Session, scope: Scope, today: date, *, page: int = 1, text: str | None = None
) -> Page:
    """Accountable ownerships active today with no officer named, longest waiting first."""
    columns = (Ownership.id, Ownership.role, Ownership.starts_on, Agency.code.label("agency"),
               *person_columns())
    order = [Ownership.starts_on, Ownership.id]
    return _page(session, Ownership, list(_unallocated_where(scope, today)), order, columns,
                 lambda q: q.join(Agency, Agency.id == Ownership.agency_id), page, text)


def counts(session: Session, scope: Scope, today: date) -> dict[str, int]:
    """Count each queue in three small queries: the numbers at the top of the dashboard."""
    result = {"waiting": 0, "overdue": 0, "sent": 0, "unallocated": 0, "new": 0,
              "acknowledged": 0, **{s: 0 for s in SEVERITIES}}
    # One count per side, each an index-only walk of its partial index of pending handoffs.
    pending = Handoff.status == HandoffStatus.pending
    to_us, from_us = scope.has(Handoff.to_agency_id), scope.has(Handoff.from_agency_id)
    waiting_here = select(func.count()).where(pending, to_us)
    result["waiting"], result["overdue"], result["sent"], result["unallocated"] = session.execute(
        select(
            waiting_here.scalar_subquery(),
            waiting_here.where(Handoff.due_on < today).scalar_subquery(),
            select(func.count()).where(pending, from_us).scalar_subquery(),
            select(func.count()).select_from(Ownership)
            .where(*_unallocated_where(scope, today)).scalar_subquery(),
        )
    ).one()
    yesterday = today - timedelta(days=1)
    if scope.everything or len(scope.codes) == 1:
        result.update(tally.counts(session, None if scope.everything else scope.codes[0], yesterday))
    else:
        result.update(_counted_flags(session, scope, yesterday))
    result["flags"] = sum(result[s] for s in SEVERITIES)
    return result


def _counted_flags(session: Session, scope: Scope, new_since: date) -> dict[str, int]:
    """Count the flags notifying any agency of a region (each once), as `tally.counts` does."""
    result = {"new": 0, "acknowledged": 0}
    in_queue = Flag.status == FlagStatus.open
    new = func.sum(case((and_(in_queue, Flag.first_seen_on >= new_since), 1), else_=0))
    queued = func.sum(case((in_queue, 1), else_=0))
    acknowledged = func.sum(case((Flag.status == FlagStatus.acknowledged, 1), else_=0))
    for severity, number, fresh, known in session.execute(
        select(Flag.severity, queued, new, acknowledged)
        .where(Flag.status.in_([FlagStatus.open, FlagStatus.acknowledged]), scope.notified(session))
        .group_by(Flag.severity)
    ):
        result[severity] = int(number or 0)
        result["new"] += int(fresh or 0)
        result["acknowledged"] += int(known or 0)
    return result
