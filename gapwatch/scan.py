"""The daily scan: run every rule over every case open on a day and keep the flags up to date.

The scan reads the journeys in chunks (`gapwatch.snapshot`), runs each rule on each journey, and
compares the findings with the flags of the same cases: one flag per (case, rule, subject).

- a new finding opens a flag; a finding of a resolved flag reopens it;
- a repeated finding refreshes its flag (last seen, severity, message, who to tell);
- a flag whose finding is gone is resolved, with the day; so is every flag of a closed case;
- each agency's acknowledgement holds while the condition does, unless it was snoozed and the
  day is past its snooze day: then the flag is open again for that agency. A flag's own status
  is `acknowledged` while every agency it tells has acknowledged it, `open` otherwise.

Opening, reopening, resolving and a change of severity, `since` or who to tell are written to
the audit trail; a daily refresh that only moves `last_seen_on` and the day counts of the
message and evidence is written without an audit entry. All of it is one unit of work
by `system:scan`; once it is committed, the day's digests are read from what it committed,
with no lock held, and stored in a second unit (`gapwatch.alerts.read_mails`, `store_mails`).
A second scan of the same day finds nothing to change and writes nothing.
A scan of a day earlier than the latest day already scanned is a replay: it reports what that
day's findings were and changes no flag.

The scan of the day after the last scan's reads only the cases due (`due`): those whose next
check (`Case.next_check_on`, the first day a rule's answer about them may change) has come, with
a snooze that has ended, or of a linked person; it leaves the flags a full scan would. A flag of
a case not read says what it said (nothing about it can have changed): it is seen again today,
all of them in one statement, and reported among the day's findings as it stands. The scan reads
and runs the rules before it takes the writers' lock, and under the lock checks again the cases
written to since, then writes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Text, and_, cast, delete, func, insert, not_, or_, select, union, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch import alerts, bulk, clock, db, forecast, linked, snapshot, tally
from gapwatch import operations as ops
from gapwatch.alerts.settings import AlertSettings
from gapwatch.audit import plain
from gapwatch.config import Defaults
from gapwatch.forecast import KEPT_BEYOND, Ahead, Looked, ahead_of
from gapwatch.models import (
    Case,
    Flag,
    FlagAcknowledgement,
    FlagStatus,
    PersonLink,
    ScanRun,
)
from gapwatch.rules import (
    HORIZON,  # nothing ahead: check again in ten years at the latest
    ONE_DAY,
    Context,
    Finding,
    Rule,
    findings_ahead,
    load_rules,
    next_change,
)
from gapwatch.seen import seen_on, seen_through

log = logging.getLogger(__name__)

ACTOR = "scan"
# A turning point this near is looked at before it is made a case's next check: whether the
# rules' findings change on it (the digests' 7 days ahead read only cases whose do).
LOOK_AHEAD = timedelta(days=7)
DUE_CHUNK = 1000
# A scan that opens, reopens or resolves this many flags refreshes the flags' statistics, so
# the next reads of them (the digests, the next day's scan, the pages) are planned for them.
BULK_CHANGE = 10_000
_FLAG_COLUMNS = (
    Flag.id, Flag.case_id, Flag.rule, Flag.subject, Flag.severity, Flag.since, Flag.notify,
    Flag.message, Flag.evidence, Flag.status, Flag.last_seen_on,
)


@dataclass
class ScanResult:
    as_of: date
    cases: int = 0
    opened: int = 0
    reopened: int = 0
    refreshed: int = 0
    resolved: int = 0
    found: int = 0
    seconds: float = 0.0
    digest_seconds: float = 0.0  # of `seconds`, the time spent writing the day's digests
    replay: bool = False
    dry_run: bool = False
    findings: list[Finding] = field(default_factory=list)

    def as_json(self) -> dict:
        """Return the result as SPEC.md's `gapwatch scan --json` prints it."""
        return {
            "as_of": self.as_of.isoformat(),
            "findings": [f.as_json() for f in self.findings],
            "summary": {
                "cases": self.cases,
                "findings": self.found,
                "opened": self.opened + self.reopened,
                "resolved": self.resolved,
                "seconds": round(self.seconds, 2),
            },
        }


@dataclass(frozen=True)
class Rulebook:
    """The rules to run, each with its thresholds as configured."""

    rules: tuple[tuple[Rule, dict[str, int]], ...]

    @classmethod
    def configured(cls, config: Mapping | None = None) -> Rulebook:
        settings = {k: getattr(Defaults, k) for k in dir(Defaults) if k.startswith("RULE_")}
        settings.update({k: v for k, v in (config or {}).items() if str(k).startswith("RULE_")})
        return cls(tuple((r, r.settings(settings)) for r in load_rules()))

    def findings(self, journey, context: Context) -> list[Finding]:
        if journey.case.linked_into:
            return []  # read into its linked twin's journey (gapwatch.linked)
        found = []
        for each, settings in self.rules:
            found.extend(each.run(journey, context, settings))
        return found

    def next_check(self, journey, context: Context, found: list[Finding]) -> date:
        """Return the day the case is to be checked again: the first day the rules' findings
        about it change, or the horizon. What the rules found stays as it is until then, its
        message and evidence too (no rule's text names the day it is read on), so its flags
        need no reading before it.

        That day is the first turning point of any rule (`gapwatch.rules.next_change`) when it
        is more than `LOOK_AHEAD` away. A nearer one often changes nothing (a release window
        opening on a case with a plan, a handoff falling due on a case with a flag already
        open): the findings on each turning point up to `LOOK_AHEAD` are compared with today's
        (`findings_ahead`, the forecast's reading), and the first that differ, or else the
        first turning point after `LOOK_AHEAD`, is the next check. So neither the daily scan
        nor the digests' look-ahead reads a case on a day that changes nothing for it."""
        first = next_change(journey, context, self.rules, HORIZON)
        if first is None:
            return context.day + HORIZON
        if first > context.day + LOOK_AHEAD or journey.case.linked_into:
            return first  # a linked twin's records are read into its lead's journey
        until = context.day + LOOK_AHEAD
        ahead = findings_ahead(journey, context, self.rules, until)
        _today, now = next(ahead)
        for day, findings in ahead:
            if findings != now:
                return day
        later = next_change(journey, replace(context, day=until), self.rules, HORIZON)
        return later or context.day + HORIZON

    def check(self, journeys: list, context: Context, chunk: Chunk) -> Chunk:
        """Run every rule on each whole journey as it stands on the context's day; note the
        chunk's references, findings and next checks, and with `chunk.ahead` what the forecast
        up to that day says of each case (only a case whose next check falls by then can have
        anything coming: its findings are today's until its next check), which is kept."""
        for whole in journeys:
            held = whole.case
            found = self.findings(snapshot.standing(whole, context.day), context)
            chunk.references[held.id] = held.reference
            chunk.findings.extend(found)
            next_check = chunk.next_checks[held.id] = self.next_check(whole, context, found)
            if chunk.ahead is not None and next_check <= chunk.ahead:
                chunk.coming[held.id] = ahead_of(whole, context, self.rules,
                                                 chunk.ahead + KEPT_BEYOND)
        return chunk


# -- deciding what changes ------------------------------------------------------------------------
@dataclass
class Changes:
    """The writes one chunk needs: new flags, updates by id, and the audit entries to append."""

    day: date | None = None
    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)  # flags that only need `last_seen_on` moved
    audits: list[tuple[int, str, str, dict]] = field(default_factory=list)
    # Agencies' acknowledgements that end: their snooze has passed, or their flag came back.
    unacknowledged: list[tuple[int, str]] = field(default_factory=list)


def _content(finding: Finding) -> dict:
    return {
        "severity": finding.severity,
        "since": finding.since,
        "notify": list(finding.notify),
        "message": finding.message,
        "evidence": plain(dict(finding.evidence)),
    }


def _same(row, content: dict) -> bool:
    """Tell whether a flag says the same as before: severity, since and who to tell."""
    return (
        row.severity == content["severity"] and row.since == content["since"]
        and list(row.notify or []) == content["notify"]
    )


def _status(notify: list[str], acknowledged: Iterable[str]) -> str:
    """An unresolved flag is acknowledged while every agency it tells has acknowledged it."""
    return (FlagStatus.acknowledged.value if notify and set(notify) <= set(acknowledged)
            else FlagStatus.open.value)


def _plan_found(row, finding: Finding, day: date, changes: Changes, result: ScanResult,
                acks: Mapping[str, date | None], affirm: bool) -> None:
    content = _content(finding)
    key = {"flag": None, "rule": finding.rule, "subject": finding.subject}
    if row is None:
        changes.inserts.append({
            "case_id": finding.case_id, "rule": finding.rule, "subject": finding.subject,
            **content, "status": FlagStatus.open.value, "first_seen_on": day, "last_seen_on": day,
        })
        changes.audits.append((finding.case_id, finding.case, "flag.opened",
                               {**key, **content, "on": day}))
        result.opened += 1
        return
    key["flag"] = row.id
    update_values = {"id": row.id, **content, "last_seen_on": day}
    if row.status == FlagStatus.resolved:
        # A gap that comes back is news again: the digest lists it as a new flag, and what the
        # agencies said about it before no longer holds.
        update_values.update(status=FlagStatus.open.value, resolved_on=None, first_seen_on=day)
        changes.unacknowledged.extend((row.id, agency) for agency in acks)
        changes.audits.append((finding.case_id, finding.case, "flag.reopened",
                               {**key, **content, "on": day, "why": "the condition is back"}))
        result.reopened += 1
        changes.updates.append(update_values)
        return
    ended = [agency for agency, until in acks.items() if until is not None and day > until]
    for agency in ended:
        changes.unacknowledged.append((row.id, agency))
        changes.audits.append((finding.case_id, finding.case, "flag.reopened",
                               {**key, "on": day, "agency": agency, "snoozed_until": acks[agency],
                                "why": "the snooze ended and the condition still holds"}))
    status = _status(content["notify"], (a for a in acks if a not in ended))
    if ended:
        result.reopened += 1
    if status != row.status:
        update_values["status"] = status
    elif _same(row, content) and row.message == content["message"] and (
            row.evidence == content["evidence"]):
        if affirm and row.last_seen_on < day:
            changes.seen.append(row.id)
        return  # nothing new to say: at most, seen again today (`seen_on`)
    if not _same(row, content):
        before = {"severity": row.severity, "since": row.since, "notify": row.notify,
                  "message": row.message}
        changes.audits.append((finding.case_id, finding.case, "flag.refreshed",
                               {**key, "on": day, "before": before, "after": content}))
        result.refreshed += 1
    changes.updates.append(update_values)


def _plan_resolved(row, reference: str, day: date, changes: Changes, result: ScanResult,
                   why: str, seen_through: date | None) -> None:
    values = {"id": row.id, "status": FlagStatus.resolved.value, "resolved_on": day,
              "last_seen_on": seen_on(row.last_seen_on, row.status, seen_through)}
    changes.updates.append(values)
    changes.audits.append((row.case_id, reference, "flag.resolved",
                           {"flag": row.id, "rule": row.rule, "subject": row.subject, "on": day,
                            "was": row.status, "why": why}))
    result.resolved += 1


def plan(rows: Iterable, findings: list[Finding], references: Mapping[int, str], day: date,
         result: ScanResult, acks: Mapping[int, Mapping[str, date | None]] | None = None,
         why: str = "the condition no longer holds", *, seen_through: date | None = None,
         affirm: bool = False) -> Changes:
    """Compare one chunk's flags with its findings and return the writes that reconcile them.

    `acks` holds each flag's acknowledgements: agency, and the day its snooze ends (or None).
    `seen_through` is the last day scanned before (`seen_through`): a flag resolved now was
    last seen on it, if not later. With `affirm` (a unit of work's re-check, of a day that may
    come after the last scan), a flag found again with nothing new is stored as seen on `day`;
    a scan needs no such write, since every flag it leaves unresolved was seen on its day.
    """
    changes = Changes(day=day)
    acks = acks or {}
    existing = {(r.case_id, r.rule, r.subject): r for r in rows}
    for finding in findings:
        row = existing.pop(finding.key, None)
        _plan_found(row, finding, day, changes, result, acks.get(row.id, {}) if row else {},
                    affirm)
    for row in existing.values():
        if row.status != FlagStatus.resolved:
            _plan_resolved(row, references[row.case_id], day, changes, result, why, seen_through)
    return changes


# -- writing ------------------------------------------------------------------------------------
def _write(uow: ops.UnitOfWork, changes: Changes) -> None:
    """Write one chunk's changes as batches: inserts, updates by id, then the audit entries."""
    session = uow.session
    for values in changes.inserts:
        values["id"] = uow.new_id(Flag)
    ids = iter(v["id"] for v in changes.inserts)
    if changes.inserts:
        # One COPY (PostgreSQL) or executemany (SQLite) of plain tuples: the ORM's bulk insert
        # processed each row's dict first, a sixth of a first scan's time.
        uow.write()  # the unit's own waiting rows first, which the flags may refer to
        names = list(changes.inserts[0])
        bulk.insert_rows(session.connection(), Flag.__table__, names,
                         [tuple(values[name] for name in names) for values in changes.inserts])
    if changes.updates:
        for batch in _by_keys(changes.updates).values():
            session.execute(update(Flag), batch)
    if changes.seen:
        session.connection().execute(
            update(Flag.__table__).where(Flag.__table__.c.id.in_(changes.seen))
            .values(last_seen_on=changes.day))
    acks = FlagAcknowledgement.__table__.c
    for flag_id, agency in changes.unacknowledged:
        session.execute(delete(FlagAcknowledgement.__table__)
                        .where(acks.flag_id == flag_id, acks.agency == agency))
    for case_id, reference, action, detail in changes.audits:
        if action == "flag.opened":
            detail["flag"] = next(ids)
        uow.trail.record(actor=uow.actor.name, action=action, case_id=case_id,
                         case_reference=reference, detail=detail)
    uow.trail.spill()  # the rest are chained at the commit, when the scan is done deciding


def _write_counted(uow: ops.UnitOfWork, changes: Changes) -> None:
    """`_write`, moving the flag tally by the flags it writes (a daily scan writes few)."""
    changed = {values["id"] for values in changes.updates}
    changed.update(flag_id for flag_id, _agency in changes.unacknowledged)
    before = tally.counted(uow.session, changed)
    _write(uow, changes)
    changed.update(values["id"] for values in changes.inserts)
    tally.shift(uow.session, before, tally.counted(uow.session, changed))


def _by_keys(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Group update rows by their set of columns: one executemany per shape."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups


# -- which cases the scan reads ------------------------------------------------------------------
@dataclass
class Chunk:
    """One chunk of cases checked: which cases, their references, their findings, the day each
    must be checked again, and each case's version and stored next check as read (a case whose
    version moved before the scan took the writers' lock is checked again under it)."""

    span: tuple[int, int] | None = None
    ids: list[int] | None = None
    references: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    next_checks: dict[int, date] = field(default_factory=dict)
    versions: dict[int, tuple[int, date | None]] = field(default_factory=dict)
    ahead: date | None = None  # the last day of the digests' forecast, noted as it is read
    coming: dict[int, Ahead] = field(default_factory=dict)  # by case, those near a change

    def which(self):
        return snapshot.between(*self.span) if self.span else snapshot.among(self.ids)


def _checked_by(day: date, since: date):
    """Return the WHERE clause of the cases to check again by `day`, the scan of `since` done
    (`due` says which and why)."""
    snoozed = (select(Flag.case_id)
               .join(FlagAcknowledgement, FlagAcknowledgement.flag_id == Flag.id)
               .where(FlagAcknowledgement.snoozed_until < day,
                      Flag.status != FlagStatus.resolved.value))
    return or_(Case.next_check_on.is_(None), Case.next_check_on <= day, Case.id.in_(snoozed),
               Case.person_id.in_(_regrouped(day, since)))


def _regrouped(day: date, since: date, name: str = "regrouped"):
    """Return the SELECT of the linked persons whose group's open cases change by time alone
    after `since`, by `day`: a case of one of them opens or closes on such a day (dated ahead
    when it was written), which moves what the group's journey holds and may move its lead (its
    open case with the lowest id, `gapwatch.linked`). Every person of such a group, by the
    links as they stand."""
    current = PersonLink.unlinked_on.is_(None)
    linked_persons = union(select(PersonLink.person_a_id).where(current),
                           select(PersonLink.person_b_id).where(current))
    held = aliased(Case)
    dated = or_(and_(held.opened_on > since, held.opened_on <= day),
                and_(held.closed_on > since, held.closed_on <= day))
    reached = (select(held.person_id.label("person"))
               .where(dated, held.person_id.in_(linked_persons))
               .cte(name, recursive=True))
    other = sql_case((PersonLink.person_a_id == reached.c.person, PersonLink.person_b_id),
                     else_=PersonLink.person_a_id)
    reached = reached.union(
        select(other).join(reached, or_(PersonLink.person_a_id == reached.c.person,
                                        PersonLink.person_b_id == reached.c.person))
        .where(current))
    return select(reached.c.person)


def due(day: date, since: date):
    """Return the WHERE clause of the cases a daily scan of `day` reads, the scan of `since`
    done: open, and their next check has come (or was never made), or an agency's snooze of one
    of their flags has ended (the flag is open again for it), or their person's linked group
    gained or lost an open case by time alone since `since` (a case opening or closing on a day
    it was dated ahead to: `_regrouped`).

    A link, an unlink, a proposal made, rescored, decided or lapsed, and a person's new details
    re-check at once every case of the persons' groups (`gapwatch.follow`), and move their
    versions: a scan that read them before checks them again under the writers' lock
    (`_again`). So a linked or proposed person's cases are not read by the next days' scans for
    it: reading every linked person's cases each day was most of a quiet day's reading at
    500,000 cases (6,105 of 7,898), and reading the persons of the day's proposals made the
    first daily scan after the demo's linking read 50,910 cases."""
    return snapshot.open_on(day) & _checked_by(day, since)


def regrouping(session: Session, until: date):
    """Return the SELECT of the persons whose linked group gains or loses an open case by time
    alone after the last scan's day, by `until` (`_regrouped`): what was kept of their cases'
    days ahead (`gapwatch.forecast`) was read with the group as it stood, and no longer holds."""
    last = _last_run(session)
    # Named apart from the one in `changing`: the forecast reads both in one statement.
    return _regrouped(until, last.day if last is not None else until, "regrouping")


def changing(session: Session, day: date, until: date, rulebook: Rulebook):
    """Return the WHERE clause of the cases a rule's answer about may change on a day after
    `day` up to `until`, from their stored next checks; None when those cannot be trusted for
    `day`: before the first scan, when the last scan was of a later day, or when the rules'
    thresholds, the agencies or the contracts changed since it.

    A case left out was last checked on a day up to `day` and its next check is after `until`,
    so every rule says of it on each day up to `until` what it says on `day`: the days ahead
    hold nothing new for it. The forecast reads only the others.
    """
    last = _last_run(session)
    if last is None or last.day > day:
        return None
    known = snapshot.agencies(session)
    if last.rules != fingerprint(rulebook, known, snapshot.contracts(session, known)):
        return None
    return _checked_by(until, last.day)


def _chunks(session: Session, day: date, where, size: int, ahead: date | None) -> list[Chunk]:
    if where is None:
        return [Chunk(span=span, ahead=ahead) for span in snapshot.ranges(session, day, size)]
    ids = [row[0] for row in snapshot.tuples(
        session, select(Case.id).where(where).order_by(Case.id))]
    return [Chunk(ids=ids[i:i + DUE_CHUNK], ahead=ahead) for i in range(0, len(ids), DUE_CHUNK)]


def _versions(session: Session, which) -> dict[int, tuple[int, date | None]]:
    d = snapshot.Days()
    return {i: (version, d(next_check)) for i, version, next_check in snapshot.tuples(
        session, select(Case.id, Case.version, Case.next_check_on).where(which(Case.id)))}


def fingerprint(rulebook: Rulebook, known: Mapping, contracts: Mapping) -> str:
    """Return what the rules read besides the journeys, digested: their thresholds, the agencies
    and the contracts. A daily scan reads only the cases due while it is what it was."""
    said = repr((sorted((r.code, sorted(s.items())) for r, s in rulebook.rules),
                 sorted(known.items()), sorted(contracts.items())))
    return hashlib.sha256(said.encode()).hexdigest()


def _flags_of(session: Session, which) -> list:
    return session.connection().execute(
        select(*_FLAG_COLUMNS).where(which(Flag.case_id))).all()


def acknowledgements(session: Session, where) -> dict[int, dict[str, date | None]]:
    """Return the acknowledgements of the flags `where` keeps: agency and snooze end, by flag.
    A resolved flag's are among them: should it come back, they no longer hold (`plan`)."""
    found: dict[int, dict[str, date | None]] = {}
    for flag_id, agency, until in session.connection().execute(
        select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency,
               FlagAcknowledgement.snoozed_until)
        .join(Flag, Flag.id == FlagAcknowledgement.flag_id)
        .where(where)
    ):
        found.setdefault(flag_id, {})[agency] = until
    return found


def _flags_of_cases_not_open(session: Session, day: date):
    return session.connection().execute(
        select(*_FLAG_COLUMNS, Case.reference)
        .join(Case, Case.id == Flag.case_id)
        .where(Flag.status != FlagStatus.resolved.value, not_(snapshot.open_on(day)))
    ).all()


def latest_scanned(session: Session) -> date | None:
    """Return the latest day scanned (a scan that found nothing counts: its flags are none),
    or None before the first scan."""
    run = session.connection().execute(select(func.max(ScanRun.day))).scalar()
    seen = session.connection().execute(select(func.max(Flag.last_seen_on))).scalar()
    resolved = session.connection().execute(select(func.max(Flag.resolved_on))).scalar()
    return max((d for d in (run, seen, resolved) if d is not None), default=None)


def write_next_checks(session: Session, next_checks: Mapping[int, date | None],
                      stored: Mapping[int, tuple[int, date | None]] | None = None) -> None:
    """Store each case's next check, writing only those that moved: one statement, executed
    for every row through the plain DB-API cursor. A case whose stored day is already the
    one given is not written again: before the first scan every unit of work gives each case
    it touched no next check, which each already has (the demo's 500,000 cases rewrote each
    of their rows once more for nothing)."""
    moved = [(day, case_id) for case_id, day in next_checks.items()
             if stored is None or case_id not in stored or stored[case_id][1] != day]
    if not moved:
        return
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        if db.is_sqlite(session):
            cursor.executemany(
                "UPDATE cases SET next_check_on = ?1 WHERE id = ?2 AND next_check_on IS NOT ?1", [
                    (None if day is None else day.isoformat(), case_id) for day, case_id in moved])
        else:
            # A statement per 10,000 cases, their ids and days as two arrays: an UPDATE per
            # case, even pipelined, was a tenth of a first scan's time.
            for start in range(0, len(moved), 10_000):
                chunk = moved[start:start + 10_000]
                cursor.execute(
                    "UPDATE cases SET next_check_on = moved.day FROM unnest(%s::integer[], "
                    "%s::date[]) AS moved (id, day) WHERE cases.id = moved.id "
                    "AND cases.next_check_on IS DISTINCT FROM moved.day",
                    ([case_id for _day, case_id in chunk], [day for day, _case_id in chunk]))
    finally:
        cursor.close()


# -- the scan -----------------------------------------------------------------------------------
@dataclass
class Reading:
    """What a scan read before taking the writers' lock."""

    day: date
    incremental: bool
    fingerprint: str
    chunks: list[Chunk]


def _read(session: Session, day: date, rulebook: Rulebook, config: Mapping, workers: int,
          chunk: int, *, where=None, ahead: date | None = None) -> list[Chunk]:
    """Check every chunk of the cases `where` keeps (all those open on `day` without), in id
    order, in this process or several; with `ahead`, note what is coming up to that day."""
    chunks = _chunks(session, day, where, chunk, ahead)
    # Processes of their own for a pass over every case only: each starts and reads every open
    # proposal and link (`_start_worker`), which cost a daily scan of 1,793 cases at 500,000
    # more than its rules (5.0 to 5.5 s with two workers, 3.8 to 4.3 s in this process).
    if workers > 1 and len(chunks) > 1 and where is None:
        return list(rules_in_parallel(session, day, config, chunks, workers))
    known = snapshot.agencies(session)
    context = Context(day=day, contracts=snapshot.contracts(session, known))
    # Every open proposal and link, read once for a pass over every case; a daily scan's few
    # chunks read each their own (`linked.join`): on a quiet day at 500,000 cases, reading
    # them all was a seventh of the scan's time.
    links = linked.Links.read(session) if where is None else None
    return [_check(session, rulebook, context, known, each, links) for each in chunks]


def _check(session: Session, rulebook: Rulebook, context: Context, known, chunk: Chunk,
           links: linked.Links | None = None) -> Chunk:
    chunk.versions = _versions(session, chunk.which())
    rulebook.check(snapshot.journeys(session, context.day, chunk.which(), known, links=links),
                   context, chunk)
    return chunk


def _again(session: Session, rulebook: Rulebook, context: Context, known,
           chunk: Chunk) -> Chunk:
    """Check again, under the writers' lock, the cases of `chunk` a write changed since they
    were read; all of the chunk when one of them is a linked person's (its group moved)."""
    now = _versions(session, chunk.which())
    changed = sorted(i for i, (version, _next) in now.items()
                     if i not in chunk.versions or chunk.versions[i][0] != version)
    changed += sorted(set(chunk.versions) - set(now))
    if not changed:
        return chunk
    linked_ones = session.connection().execute(
        select(Case.id).where(Case.id.in_(changed), Case.person_id.in_(select(
            PersonLink.person_a_id).union(select(PersonLink.person_b_id))))).first()
    if linked_ones is not None:
        return _check(session, rulebook, context, known,
                      Chunk(span=chunk.span, ids=chunk.ids, ahead=chunk.ahead))
    gone = set(changed)
    again = Chunk(ids=changed, ahead=chunk.ahead)
    rulebook.check(snapshot.journeys(session, context.day, snapshot.among(changed), known),
                   context, again)
    chunk.references = {i: r for i, r in chunk.references.items() if i not in gone}
    chunk.references.update(again.references)
    chunk.findings = [f for f in chunk.findings if f.case_id not in gone] + again.findings
    chunk.next_checks = {i: d for i, d in chunk.next_checks.items() if i not in gone}
    chunk.next_checks.update(again.next_checks)
    chunk.coming = {i: a for i, a in chunk.coming.items() if i not in gone} | again.coming
    chunk.versions = now
    return chunk


def _apply(session: Session, day: date, chunks: list[Chunk], result: ScanResult,
           uow: ops.UnitOfWork | None, keep_findings: bool, incremental: bool = False) -> None:
    """Compare each chunk's findings with its flags and, with `uow`, write the changes; when
    `incremental`, the flag tally is moved by the flags written (a full scan rebuilds it)."""
    through = seen_through(session)
    write = _write if uow is None or not incremental else _write_counted
    if uow is not None and not incremental:
        forecast.forget_all(session)  # what the rules read may have changed: each case kept anew
    for each in chunks:
        if keep_findings:
            result.findings.extend(each.findings)
        result.found += len(each.findings)
        if not each.references:
            continue
        which = each.which()
        rows = [r for r in _flags_of(session, which) if r.case_id in each.references]
        acks = acknowledgements(session, which(Flag.case_id))
        changes = plan(rows, each.findings, each.references, day, result, acks,
                       seen_through=through)
        if uow is not None:
            write(uow, changes)
            write_next_checks(session, each.next_checks, each.versions)
            forecast.keep(session, each.references if incremental else (), {
                i: (each.versions[i][0], each.next_checks[i], ahead)
                for i, ahead in each.coming.items()})
    closed = Changes(day=day)
    for row in _flags_of_cases_not_open(session, day):
        _plan_resolved(row, row.reference, day, closed, result, "the case is not open", through)
    if uow is not None:
        write(uow, closed)


def _standing(session: Session, day: date, chunks: list[Chunk], result: ScanResult,
              keep_findings: bool) -> None:
    """Count (and keep, with `keep_findings`) the flags of the open cases the scan did not
    read, as today's findings: their next check has not come, so each rule says of them what
    it said when their flags were written. Nothing is written to them: they were seen today
    (`seen_on`)."""
    unresolved = Flag.status != FlagStatus.resolved.value
    standing = select(Flag.case_id).join(Case, Case.id == Flag.case_id).where(
        unresolved, snapshot.open_on(day))
    if not keep_findings:
        # Those of the open cases, less those of the cases read, whose flags are now their
        # findings, one each (counted above): one count by the database, nothing read.
        every = session.connection().execute(
            select(func.count()).select_from(standing.subquery())).scalar()
        result.found += every - sum(len(each.findings) for each in chunks)
        return
    read = set().union(*(each.references for each in chunks))
    # Every standing flag of a region, so through the plain cursor (`snapshot.tuples`), with
    # `notify` as its text (`snapshot.Codes`).
    d, codes = snapshot.Days(), snapshot.Codes()
    for case_id, reference, rule, subject, severity, since, notify, message, evidence in (
            snapshot.tuples(session, standing.add_columns(
                Case.reference, Flag.rule, Flag.subject, Flag.severity, Flag.since,
                cast(Flag.notify, Text), Flag.message, cast(Flag.evidence, Text)))):
        if case_id in read:
            continue
        result.found += 1
        result.findings.append(Finding(
            case_id, reference, rule, subject, severity, d(since), codes[notify], message,
            json.loads(evidence) if evidence else {}))


def _late(session: Session, rulebook: Rulebook, context: Context, known, where,
          chunks: list[Chunk], ahead: date | None) -> Chunk | None:
    """Check, under the writers' lock, the cases that became due after the scan read them
    (a write moved their next check to the day); None when there are none."""
    read = set().union(*(each.ids or () for each in chunks))
    late = [i for (i,) in snapshot.tuples(session, select(Case.id).where(where).order_by(Case.id))
            if i not in read]
    if not late:
        return None
    return _check(session, rulebook, context, known, Chunk(ids=late, ahead=ahead))


def _open_cases(session: Session, day: date) -> int:
    return session.connection().execute(
        select(func.count()).select_from(Case).where(snapshot.open_on(day))).scalar()


def _last_run(session: Session) -> ScanRun | None:
    return session.execute(select(ScanRun).order_by(ScanRun.day.desc()).limit(1)).scalars().first()


# -- several processes --------------------------------------------------------------------------
_worker: dict = {}


def _start_worker(url: str, day: date, config: dict) -> None:
    gc.set_threshold(bulk.BULK_GC_THRESHOLD)  # a worker lives for one scan's chunks
    engine = db.make_engine(url)
    session = db.new_session(engine)
    known = snapshot.agencies(session)
    _worker.update(
        session=session, known=known, rulebook=Rulebook.configured(config),
        context=Context(day=day, contracts=snapshot.contracts(session, known)),
        # Read once for the pass, as one process reads them (`_read`): read for each chunk,
        # every link of the region made a graph again, 14% of a worker's first scan.
        links=linked.Links.read(session),
    )
    session.rollback()


def _check_in_worker(chunk: Chunk) -> Chunk:
    w = _worker
    try:
        return _check(w["session"], w["rulebook"], w["context"], w["known"], chunk, w["links"])
    finally:
        w["session"].rollback()


def rules_in_parallel(session: Session, day: date, config: Mapping, chunks: list[Chunk],
                      workers: int) -> Iterator[Chunk]:
    """Check the chunks in `workers` processes, each through a connection of its own, yielding
    them in order. Nothing holds the writers' lock meanwhile: the scan checks again, under it,
    the cases a write changed since (`_again`)."""
    url = session.get_bind().url.render_as_string(hide_password=False)
    rules_config = {k: v for k, v in (config or {}).items() if str(k).startswith("RULE_")}
    # Workers fork from a clean, single-threaded server that has imported gapwatch once.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["gapwatch.scan"])
    with context.Pool(workers, initializer=_start_worker,
                      initargs=(url, day, rules_config)) as pool:
        yield from pool.imap(_check_in_worker, chunks, chunksize=1)


@bulk.fewer_collections()
def scan(
    session: Session,
    day: date,
    *,
    config: Mapping | None = None,
    dry_run: bool = False,
    full: bool = False,
    keep_findings: bool = True,
    chunk: int = snapshot.CHUNK,
    workers: int | None = None,
) -> ScanResult:
    """Run the rules on the cases open on `day` and update their flags, unless a dry run.

    The day after the last scan's (or its day again) reads only the cases due (`due`), unless
    `full`; any other day, a replay, a dry run and a change of the rules' fingerprint read every
    case open on `day`. The findings are computed before the writers' lock is taken; under it,
    the cases written to since are checked again, and the changes applied.
    """
    started = time.perf_counter()
    config = config or {}
    rulebook = Rulebook.configured(config)
    if workers is None:
        workers = int(config.get("SCAN_WORKERS", min(os.cpu_count() or 1, 4)))
    result = ScanResult(as_of=day, dry_run=dry_run)
    session.rollback()  # read what is committed now, not what the session held
    try:
        known = snapshot.agencies(session)
        prints = fingerprint(rulebook, known, snapshot.contracts(session, known))
        latest, last = latest_scanned(session), _last_run(session)
        replay = latest is not None and day < latest
        incremental = not (full or dry_run or replay) and last is not None and (
            last.rules == prints and last.day in (day, day - ONE_DAY))
        where = due(day, last.day) if incremental else None
        # What the digests' days ahead say of the cases read is noted as they are read.
        coming_days = 0 if dry_run or replay else AlertSettings.of(config or None).coming_days
        ahead = day + timedelta(days=coming_days) if coming_days > 0 else None
        chunks = _read(session, day, rulebook, config, workers, chunk, where=where, ahead=ahead)
        result.cases = _open_cases(session, day) if incremental else sum(
            len(c.references) for c in chunks)
    finally:
        session.rollback()
    if dry_run:
        try:
            _apply(session, day, chunks, result, None, keep_findings, incremental)
        finally:
            session.rollback()
    else:
        with ops.unit_of_work(session, ops.Actor.system(ACTOR), wait=None) as uow:
            # Flags reworded without an entry, told agencies dropped, the tally rebuilt:
            # every agency's dashboard is rendered again (`gapwatch.stamp`).
            uow.trail.reach.widen()
            latest = latest_scanned(session)
            result.replay = latest is not None and day < latest
            known = snapshot.agencies(session)
            context = Context(day=day, contracts=snapshot.contracts(session, known))
            if fingerprint(rulebook, known, context.contracts) != prints:
                # the rules or what they read changed meanwhile: read it all again, locked
                incremental = False
                chunks = _read(session, day, rulebook, config, 1, chunk, ahead=ahead)
                result.cases = sum(len(c.references) for c in chunks)
            elif not result.replay:
                chunks = [_again(session, rulebook, context, known, c) for c in chunks]
                late = _late(session, rulebook, context, known, where, chunks, ahead) if (
                    incremental) else None
                chunks += [late] if late else []
            _apply(session, day, chunks, result, None if result.replay else uow, keep_findings,
                   incremental and not result.replay)
            if not result.replay:
                _record_run(session, day, full=not incremental, rules=prints, cases=sum(
                    len(c.references) for c in chunks))
                if not incremental:
                    tally.rebuild(session)  # a daily scan moved it by the flags it wrote
        if not result.replay:
            if result.opened + result.reopened + result.resolved >= BULK_CHANGE:
                db.analyze(session, Flag.__table__.name, FlagAcknowledgement.__table__.name)
            _after(session, day, config, rulebook, chunks, ahead, result,
                   keep_findings=keep_findings, incremental=incremental)
    if result.replay:
        result.opened = result.reopened = result.refreshed = result.resolved = 0
    result.seconds = time.perf_counter() - started
    log.info("scan of %s (%s): %d cases, %d findings, %d opened, %d reopened, %d resolved in "
             "%.2fs", day, "daily" if incremental else "full", result.cases, result.found,
             result.opened, result.reopened, result.resolved, result.seconds)
    return result


def _after(session: Session, day: date, config: Mapping, rulebook: Rulebook,
           chunks: list[Chunk], ahead: date | None, result: ScanResult, *,
           keep_findings: bool, incremental: bool) -> None:
    """Once the flags are committed, read from one snapshot of them, with no lock held (writers
    wait only for the flags): the standing flags of a daily scan, as today's findings, and the
    day's digests; then store the digests under the lock, in a unit of their own. Should the
    process stop in between, the day's run is not done (`gapwatch.scheduler` takes it over) and
    a scan of the day again writes them."""
    looked = None if ahead is None else Looked(
        ahead, rulebook.rules, set().union(*(c.references for c in chunks)),
        [item for c in chunks for kept in c.coming.values() for item in kept.by(ahead)])
    with db.read_snapshot(session):
        if incremental:
            _standing(session, day, chunks, result, keep_findings)
        writing = time.perf_counter()
        mails = alerts.read_mails(session, day, config=config or None, looked=looked)
    with ops.unit_of_work(session, ops.Actor.system(ACTOR), wait=None, renews_stamp=False) as uow:
        alerts.store_mails(uow, day, mails)
        if looked is not None:
            # What the digests' forecast read of the cases entering their days ahead: a case
            # written to since the snapshot has another version, so what is kept of it does
            # not hold (`forecast._near`).
            forecast.keep(uow.session, looked.read, looked.read)
    result.digest_seconds = time.perf_counter() - writing


def _record_run(session: Session, day: date, *, full: bool, rules: str, cases: int) -> None:
    session.execute(delete(ScanRun).where(ScanRun.day == day))
    session.execute(insert(ScanRun).values(day=day, full=full, rules=rules, cases=cases))


# -- the command line ---------------------------------------------------------------------------
def _table(result: ScanResult) -> str:
    lines = []
    for f in sorted(result.findings, key=lambda f: (f.case, f.rule, f.subject)):
        lines.append(f"{f.case:<14} {f.rule:<21} {f.severity:<8} {f.since} "
                     f"{','.join(f.notify):<28} {f.message}")
    header = f"{'CASE':<14} {'RULE':<21} {'SEVERITY':<8} {'SINCE':<10} {'NOTIFY':<28} MESSAGE"
    what = "would open" if result.dry_run else "opened"
    gone = "would resolve" if result.dry_run else "resolved"
    summary = (f"{result.as_of}: {result.cases} open cases, {result.found} findings, "
               f"{result.opened + result.reopened} {what}, {result.resolved} {gone} "
               f"in {result.seconds:.2f}s")
    return "\n".join([header, *lines, summary] if lines else [summary])


@click.command("scan")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Scan this day as it stood at its end (default: today, Europe/London).")
@click.option("--dry-run", is_flag=True, help="Report the findings without changing any flag.")
@click.option("--json", "as_json", is_flag=True, help="Print SPEC.md's JSON instead of a table.")
@click.option("--full", is_flag=True,
              help="Read every open case, not only those whose next check has come.")
@click.option("--summary", is_flag=True,
              help="Print the summary alone; the findings are counted, not listed (as the "
                   "scheduler's daily scan).")
@with_appcontext
def scan_command(as_of: str | None, dry_run: bool, as_json: bool, full: bool, summary: bool):
    """Run every rule, update flags and print findings."""
    from gapwatch.cli import parse_day

    if summary and as_json:
        raise click.UsageError("--summary and --json: choose one (the JSON lists the findings)")
    day = parse_day(None, None, as_of) or clock.today()
    session = db.new_session(db.get_engine())
    try:
        result = scan(session, day, config=current_app.config, dry_run=dry_run, full=full,
                      keep_findings=not summary)
    finally:
        session.close()
    if result.replay:
        click.echo(f"gapwatch: {day} is before the latest scanned day; this replay changed no "
                   "flag", err=True)
    click.echo(json.dumps(result.as_json(), indent=None) if as_json else _table(result))
