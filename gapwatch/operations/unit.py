"""The unit of work: one write transaction, its actor, its cache of journeys and its audit trail.

Every domain operation runs inside a `UnitOfWork`. Opening one ends any read transaction the
session had, then begins a write transaction that holds the writers' lock from its first
statement: SQLite's `BEGIN IMMEDIATE`, PostgreSQL's transaction-scoped advisory lock. Writers
therefore queue instead of racing, so a decision is always checked against the state it changes
and the audit chain cannot fork. Leaving the block commits; an exception rolls everything back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cache
from operator import itemgetter
from typing import TypeVar

from sqlalchemy import Table, event, select, text, update
from sqlalchemy.orm.attributes import set_attribute
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, SQLModel

from gapwatch import bulk, stamp
from gapwatch.audit import WRITE_LOCK_KEY, Trail
from gapwatch.authority import Decision
from gapwatch.config import Defaults
from gapwatch.db import advisory_lock, is_sqlite, write_intent
from gapwatch.errors import Forbidden, InvalidInput, NotFound
from gapwatch.journey import CaseFacts, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import Agency, Case, Flag, FlagStatus, Handoff, Ownership, Person

E = TypeVar("E", bound=Enum)

# The most ids a unit takes from a table at once: blocks double from one (a web action wastes
# no sequence values) to this (a bulk load makes a round trip per 1,024 rows).
ID_BLOCK = 1024

@dataclass(frozen=True)
class Actor:
    """Who is acting: `agency` limits them to that agency's side of a journey (None: any side)."""

    name: str
    agency: str | None = None
    read_only: bool = False
    token: bool = False  # an agency's system, through the API

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(name=f"system:{what}")


@dataclass
class CaseState:
    """A case with its whole journey, loaded once per unit of work."""

    case: Case
    person: Person
    ownerships: list[Ownership] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)


class UnitOfWork:
    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor
        self.trail = Trail(session)
        self._agencies: dict[str, Agency] | None = None
        self._agencies_by_id: dict[int, Agency] = {}
        self._cases: dict[str, CaseState | None] = {}
        self._persons: dict[str, Person | None] = {}
        self._ids: dict[str, list[int]] = {}
        self._reserved: dict[str, int] = {}
        # The last block size of each table on this session, halved: a loader's next unit starts
        # with large blocks, a session that went back to single actions soon wastes few ids.
        self._last_blocks: dict[str, int] = session.info.setdefault("gapwatch_id_blocks", {})
        self._block_size: dict[str, int] = {t: n // 2 for t, n in self._last_blocks.items()}
        # The rows the operations added and not yet written, by table, and those written whose
        # values changed since: `write` sends them in foreign-key order (`gapwatch.bulk`).
        self._new: dict[Table, list[SQLModel]] = {}
        self._changed: dict[int, SQLModel] = {}
        self._searched: set[str] = set()  # tables whose new rows a read has looked through
        self._persons_by_id: dict[int, Person] = {}
        # The cases this unit changed, each with the latest day an operation acted on it:
        # their flags are brought up to date before the commit (`gapwatch.follow`).
        self.touched: dict[int, tuple[str, date]] = {}
        self.bumped: set[int] = set()  # the cases whose version this unit has moved
        # The persons whose linked groups' cases are to be noted in `touched` when the unit is
        # done (`operations.identity.touch_persons`), each with the latest day it changed.
        self.persons_touched: dict[int, date] = {}
        self.actions: set[str] = set()
        # Who holds each (scheme, value) identifier looked up so far (None: nobody).
        self.held: dict[tuple[str, str], int | None] = {}

    # -- agencies -------------------------------------------------------------------------
    def agencies(self) -> dict[str, Agency]:
        if self._agencies is None:
            rows = self.session.exec(select(Agency)).scalars().all()
            self._agencies = {a.code: a for a in rows}
            self._agencies_by_id = {a.id: a for a in rows}
        return self._agencies

    def agency(self, code: str, *, field: str = "agency") -> Agency:
        found = self.agencies().get(code)
        if found is None:
            raise NotFound(f"unknown agency {code!r}", field=field)
        return found

    def agency_by_id(self, agency_id: int | None) -> Agency | None:
        if agency_id is None:
            return None
        self.agencies()
        return self._agencies_by_id[agency_id]

    def remember_agency(self, agency: Agency) -> None:
        self.agencies()[agency.code] = agency
        self._agencies_by_id[agency.id] = agency

    # -- persons and cases ----------------------------------------------------------------
    def find_person(self, reference: str) -> Person | None:
        if reference not in self._persons:
            self._persons[reference] = self.session.exec(
                select(Person).where(Person.reference == reference)
            ).scalar_one_or_none()
        return self._persons[reference]

    def person(self, reference: str, *, field: str = "person") -> Person:
        found = self.find_person(reference)
        if found is None:
            raise NotFound(f"unknown person {reference!r}", field=field)
        return found

    def preload_persons(self, references: Iterable[str]) -> None:
        """Load many persons in a few queries, remembering those not found as absent."""
        wanted = [r for r in dict.fromkeys(references) if r not in self._persons]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found = self.session.exec(select(Person).where(Person.reference.in_(chunk))).scalars()
            self._persons.update(dict.fromkeys(chunk))
            for person in found:
                self.remember_person(person)

    def remember_person(self, person: Person) -> None:
        self._persons[person.reference] = person
        self._persons_by_id[person.id] = person

    def person_by_id(self, person_id: int) -> Person | None:
        """Return the person with this id: one this unit holds, else as the database has it."""
        found = self._persons_by_id.get(person_id)
        if found is None:
            with self.searched(Person):  # a person this unit added is held: none is missed
                found = self.session.get(Person, person_id)
        return found

    def new_rows(self, model: type[SQLModel]) -> list:
        """Return the rows of `model` this unit added and has not written yet."""
        return self._new.get(model.__table__, [])

    @contextmanager
    def searched(self, model: type[SQLModel]) -> Iterator[None]:
        """Read `model`'s table without writing this unit's new rows of it first: the caller
        has looked through them (`new_rows`). Changed rows are still written first."""
        name = model.__table__.name
        self._searched.add(name)
        try:
            yield
        finally:
            self._searched.discard(name)

    def find_case(self, reference: str) -> CaseState | None:
        if reference not in self._cases:
            self.preload_cases([reference])
        return self._cases[reference]

    def case(self, reference: str, *, field: str = "case") -> CaseState:
        state = self.find_case(reference)
        if state is None:
            raise NotFound(f"unknown case {reference!r}", field=field)
        return state

    def remember_case(self, state: CaseState) -> None:
        self._cases[state.case.reference] = state
        self.remember_person(state.person)

    def preload_cases(self, references: Iterable[str]) -> None:
        """Load the journeys of many cases in a few set-based queries."""
        wanted = [r for r in dict.fromkeys(references) if r not in self._cases]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.session.exec(
                select(Case, Person)
                .join(Person, Person.id == Case.person_id)
                .where(Case.reference.in_(chunk))
            ).all()
            states = {case.id: CaseState(case, person) for case, person in rows}
            if states:
                for o in self.session.exec(
                    select(Ownership).where(Ownership.case_id.in_(states)).order_by(Ownership.id)
                ).scalars():
                    states[o.case_id].ownerships.append(o)
                for h in self.session.exec(
                    select(Handoff).where(Handoff.case_id.in_(states)).order_by(Handoff.id)
                ).scalars():
                    states[h.case_id].handoffs.append(h)
            for reference in chunk:
                self._cases[reference] = None
            for state in states.values():
                self.remember_case(state)

    # -- identifiers ----------------------------------------------------------------------
    def new_id(self, model: type[SQLModel]) -> int:
        """Return a fresh primary key for `model`, so rows can refer to each other before a flush."""
        table = model.__table__.name
        block = self._ids.setdefault(table, [])
        if not block:
            size = self._block_size[table] = min(self._block_size.get(table, 0) * 2 or 1,
                                                 ID_BLOCK)
            self._last_blocks[table] = size
            if is_sqlite(self.session):
                # The write lock is held from BEGIN IMMEDIATE: nobody else can take these ids,
                # and rows this unit has not written yet are above `_reserved`.
                top = self.session.execute(text(f'SELECT max(id) FROM "{table}"')).scalar()
                start = max(top or 0, self._reserved.get(table, 0)) + 1
                self._reserved[table] = start + size - 1
                block.extend(range(start + size - 1, start - 1, -1))
            else:
                rows = self.session.execute(
                    text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                         "FROM generate_series(1, :n)"),
                    {"t": table, "n": size},
                ).scalars()
                block.extend(sorted(rows, reverse=True))
        return block.pop()

    def insert(self, model: type[SQLModel], **values) -> SQLModel:
        """Add a new row of `model` with these values (and the model's defaults for the rest).

        The row is an instance of the model the operations read and change as any other, but
        the session does not track it: it waits in this unit's buffer for `write`, which sends
        each table's rows in one statement (`gapwatch.bulk`). A change made to it after that is
        noticed (`_watch`) and written as an update at the next `write`.
        """
        # Built without SQLModel's constructor, which costs more than the insert.
        row = model._sa_class_manager.new_instance()
        row.__dict__.update(_defaults(model))
        row.__dict__.update(values)
        object.__setattr__(row, "__pydantic_fields_set__", set(values))
        object.__setattr__(row, "__pydantic_extra__", None)
        object.__setattr__(row, "__pydantic_private__", None)
        _watch(model)
        self._new.setdefault(model.__table__, []).append(row)
        return row

    @property
    def waiting(self) -> set[str]:
        """The names of the tables this unit holds unwritten rows or changes of."""
        return ({t.name for t in self._new if t.name not in self._searched}
                | {type(row).__table__.name for row in self._changed.values()})

    def write(self) -> None:
        """Write what the operations have done so far: the session's own changes (agencies,
        users: rows the new ones may refer to), then the buffered rows in foreign-key order,
        then the changes made to buffered rows already written."""
        self.session.flush()
        if not self._new and not self._changed:
            return
        connection = self.session.connection()
        new, self._new = self._new, {}
        for table in _order():
            rows = new.pop(table, None)
            if rows:
                names = table.columns.keys()
                bulk.insert_rows(connection, table, names, _tuples(rows, names))
                for row in rows:
                    row.__dict__[_WATCHER] = self._changed
        assert not new, f"tables outside the schema's order: {sorted(t.name for t in new)}"
        changed = list(self._changed.values())
        self._changed.clear()  # the written rows keep pointing at it
        by_table: dict[Table, list[dict]] = {}
        for row in changed:
            table = type(row).__table__
            by_table.setdefault(table, []).append(
                {c.name: row.__dict__.get(c.name) for c in table.columns})
        for table in _order():
            bulk.update_rows(connection, table, by_table.get(table, ()))

    def forget(self) -> None:
        """Drop the journeys, persons and identifiers kept so far (after `flush`): a long
        import keeps its memory flat, and reads again what a later record names."""
        if self._new or self._changed:
            raise RuntimeError("forget() before flush(): rows would be lost")
        self._cases.clear()
        self._persons.clear()
        self._persons_by_id.clear()
        self.held.clear()

    # -- journeys as the authority table reads them ---------------------------------------
    def touch(self, state: CaseState, on: date) -> None:
        """Note that the unit changed `state`'s journey on day `on`."""
        case = state.case
        # Through the instrumentation alone: SQLModel's own setter also validates, per event.
        set_attribute(case, "version", case.version + 1)
        self.bumped.add(case.id)
        _reference, latest = self.touched.get(state.case.id, (None, on))
        self.touched[state.case.id] = (state.case.reference, max(latest, on))

    def bump(self, case_ids: Iterable[int]) -> None:
        """Move the version of these cases where this unit has not (`touch`): their journeys
        changed through other rows, a link, a proposal, a person's details or another record
        of their linked group. A reading of them taken before this unit then no longer holds:
        the daily scan's, outside the writers' lock, is checked again under it (`scan._again`),
        and what the forecast kept of them is not taken (`gapwatch.forecast`).

        The re-check calls it once the unit's rows are written, the last change before the
        commit: no case row of the session is written after it (each unit expires what the
        session held when it begins, so a later one reads the versions as they now are)."""
        ids = sorted(set(case_ids) - self.bumped)
        if not ids:
            return
        table = Case.__table__
        connection = self.session.connection()
        for start in range(0, len(ids), 1000):
            connection.execute(update(table).where(table.c.id.in_(ids[start:start + 1000]))
                               .values(version=table.c.version + 1))
        self.bumped.update(ids)

    def journey(self, state: CaseState) -> Journey:
        """Return the case's journey as it stands in this unit, as plain facts."""
        case, person = state.case, state.person
        home = self.agency_by_id(person.home_area_id)
        facts = CaseFacts(case.id, case.reference, case.opened_on, case.closed_on,
                          case.risk_level, case.expected_release_on, person.date_of_birth,
                          home.code if home else None, person.restricted, person.reference)
        ownerships = []
        for o in state.ownerships:
            agency = self.agency_by_id(o.agency_id)
            ownerships.append(OwnershipFacts(
                o.id, agency.code, agency.kind, o.role, o.starts_on, o.ends_on, o.officer,
                o.allocated_on, o.handoff_id, bool(o.self_started)))
        handoffs = []
        for h in state.handoffs:
            sender, receiver = self.agency_by_id(h.from_agency_id), self.agency_by_id(h.to_agency_id)
            handoffs.append(HandoffFacts(
                h.id, h.kind, h.role, sender.code if sender else None, receiver.code,
                h.requested_on, h.due_on, h.status, h.decided_on, h.reason, receiver.kind))
        return Journey(facts, ownerships, handoffs)

    def told_of_gap(self, state: CaseState) -> list[str]:
        """Return who the case's open `no-accountable-owner` flag tells (none: nobody)."""
        rows = self.session.execute(
            select(Flag.notify).where(Flag.case_id == state.case.id,
                                      Flag.rule == "no-accountable-owner",
                                      Flag.status != FlagStatus.resolved.value)
        ).scalars()
        return [code for notify in rows for code in notify or []]

    def require(self, decision: Decision, *, field: str | None = None) -> None:
        """Refuse with the authority table's reason unless `decision` allows."""
        if not decision:
            raise Forbidden(decision.reason, field=field, rule=decision.rule)

    # -- permissions and audit ------------------------------------------------------------
    def require_agency(self, code: str | None, doing: str) -> None:
        """Refuse unless the actor may act for agency `code`."""
        if self.actor.read_only:
            raise Forbidden(f"{self.actor.name} has read-only access and cannot {doing}")
        if self.actor.agency is not None and self.actor.agency != code:
            who = code or "an intake"
            raise Forbidden(f"only {who} can {doing}; you act for {self.actor.agency}")

    def audit(self, action: str, *, state: CaseState | None = None, **detail) -> None:
        case = state.case if state else None
        if case is not None:
            self.actions.add(action)
        self.trail.record(
            actor=self.actor.name,
            action=action,
            case_id=case.id if case else None,
            case_reference=case.reference if case else None,
            detail=detail,
        )

    def flush(self) -> None:
        """Write what the operations have done so far; audit entries wait for the commit.

        Chaining them takes the chain's lock until the commit, which would make every case
        view wait for the rest of this unit (`gapwatch.audit`); only a very large unit writes
        them early, to bound its memory.
        """
        self.write()
        self.trail.spill()

    def _before_query(self, execute_state) -> None:
        """Write the waiting rows a query is about to read (the session's autoflush is off)."""
        if not (self._new or self._changed or self.session.new or self.session.dirty):
            return
        read = find_tables(execute_state.statement, include_joins=True, include_crud=True)
        if not read:
            return  # text, such as new_id's, reads nothing of ours
        if (self.session.new or self.session.dirty
                or not self.waiting.isdisjoint(getattr(t, "name", None) for t in read)):
            self.write()


@cache
def _field_defaults(model: type[SQLModel]) -> tuple[dict, dict]:
    """Return `model`'s fields' default values, and the factories of those made fresh each time."""
    fields = [(name, f) for name, f in model.model_fields.items() if not f.is_required()]
    values = {name: f.default for name, f in fields if f.default_factory is None}
    factories = {name: f.default_factory for name, f in fields if f.default_factory is not None}
    return values, factories


def _defaults(model: type[SQLModel]) -> dict:
    """Return the default value of each of `model`'s fields that has one."""
    values, factories = _field_defaults(model)
    return {**values, **{name: make() for name, make in factories.items()}}


def _tuples(rows: list[SQLModel], names: list[str]) -> list[tuple]:
    """Return the rows' values of the columns `names`, None where an operation set none."""
    values = itemgetter(*names)
    found = []
    for row in rows:
        try:
            found.append(values(row.__dict__))
        except KeyError:
            found.append(tuple(row.__dict__.get(name) for name in names))
    return found


# A buffered row, once written, holds the dict its unit collects changed rows in.
_WATCHER = "_gapwatch_written"
_watched: set[type] = set()
_watching = threading.Lock()


def _watch(model: type[SQLModel]) -> None:
    """Have every change to a written buffered row of `model` noted for its unit's next write."""
    if model in _watched:
        return
    with _watching:  # once, even when two threads of a web worker insert at once
        if model not in _watched:
            _listen(model)
            _watched.add(model)


def _listen(model: type[SQLModel]) -> None:

    def changed(target, _value, _old, _initiator):
        collected = target.__dict__.get(_WATCHER)
        if collected is not None:
            collected[id(target)] = target

    for name in model.__table__.columns.keys():  # noqa: SIM118 (a ColumnCollection)
        event.listen(getattr(model, name), "set", changed)


_sorted: list[Table] = []


def _order() -> list[Table]:
    """The schema's tables, each after those it refers to."""
    if len(_sorted) != len(SQLModel.metadata.tables):
        _sorted[:] = SQLModel.metadata.sorted_tables
    return _sorted


def choice(value: str, allowed: type[E], field: str) -> E:
    """Return `value` as a member of the enum `allowed`, or refuse it naming every choice."""
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(v.value for v in allowed)
        raise InvalidInput(f"{field} {value!r} is not one of {names}", field=field) from None


@contextmanager
def unit_of_work(session: Session, actor: Actor, *, decides: bool = True,
                 renews_stamp: bool = True, wait: float | None | type[...] = ...,
                 ) -> Iterator[UnitOfWork]:
    """Run the block as one write transaction that commits on success and rolls back on error.

    `decides=False` is for a unit that only records (that someone read a case, an API call) and
    reads nothing to decide on: it takes no writers' lock, so it never waits for a scan or an
    import on PostgreSQL (its entries still take the chain's lock). `renews_stamp=False` is for
    a unit that changes nothing a page keeps (those records, a sign-in attempt's count): kept
    dashboards stay valid (`gapwatch.stamp`).

    `wait` bounds, in seconds, the wait for the writers' lock (`db.WritersBusy` past it); None
    waits as long as it takes. Unless told, a web or API request waits `WRITE_WAIT_SECONDS`
    and anything else (the scan, an import, the scheduler) as long as it takes.
    """
    if wait is ...:
        wait = _request_wait()
    if session.in_transaction():
        # Reads made before this point (a page loading a case) are not the state we decide on;
        # rolling back (not committing) also keeps anything written outside an operation out.
        session.rollback()
    session.expire_all()
    session.begin()
    autoflush, session.autoflush = session.autoflush, False
    uow = UnitOfWork(session, actor)
    event.listen(session, "do_orm_execute", uow._before_query)
    try:
        with write_intent(wait):
            session.connection()  # begins now, so SQLite's BEGIN is IMMEDIATE
        if decides:
            advisory_lock(session, WRITE_LOCK_KEY, wait=wait)
        yield uow
        uow.write()
        if uow.touched or uow.persons_touched:
            # The flags follow the journey in the same transaction. Imported late: the flag
            # engine sits above the operations, which it reuses from the daily scan.
            from gapwatch import follow

            follow.recheck(uow)
        uow.trail.write()
        if renews_stamp:
            # Pages rendered before this change, of the agencies it may reach, are not served again.
            stamp.renew(session, uow.trail.reach)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        event.remove(session, "do_orm_execute", uow._before_query)
        session.autoflush = autoflush


def _request_wait() -> float | None:
    from flask import current_app, has_request_context

    if not has_request_context():
        return None
    return float(current_app.config.get("WRITE_WAIT_SECONDS", Defaults.WRITE_WAIT_SECONDS))


def record_read(session: Session, actor: Actor, action: str, *, case_id: int | None = None,
                case_reference: str | None = None, **detail) -> None:
    """Record, in a short transaction of its own, that `actor` read a case (or made a call)."""
    with unit_of_work(session, actor, decides=False, renews_stamp=False) as uow:
        uow.trail.record(actor=actor.name, action=action, case_id=case_id,
                         case_reference=case_reference, detail=detail)
