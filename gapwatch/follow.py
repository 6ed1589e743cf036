"""Flags that follow the journey: a unit of work's changed cases are re-checked before it commits.

SPEC.md: "Every unit of work that changes a journey re-runs the rules for the cases it changed,
as of today, in the same transaction; the daily scan handles what time alone changes." So a
flag opens or resolves the moment someone acts, and its audit entries say which operation
caused it. The day checked is the day the flags stand for: today, or the latest day already
scanned when that is later; a unit that acts only on days before the latest scanned day (an
import of history) is checked as of that day, where its changes have not happened yet, as a
replay would see them. Before the first scan there are no flags to follow: nothing is checked.
Each case checked gets its next check (`Case.next_check_on`), as the scan gives it, so the daily
scan that follows reads it again only when its day comes, and what the forecast kept of it is
dropped.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import select

from gapwatch import clock, forecast, snapshot, tally
from gapwatch import operations as ops
from gapwatch.models import Case, Flag
from gapwatch.operations.identity import settle_persons, touch_persons
from gapwatch.rules import Context
from gapwatch.scan import (
    _FLAG_COLUMNS,
    Chunk,
    Rulebook,
    ScanResult,
    _write,
    acknowledgements,
    latest_scanned,
    plan,
    write_next_checks,
)
from gapwatch.seen import seen_through


def recheck(uow: ops.UnitOfWork) -> ScanResult | None:
    """Run every rule on the cases `uow` changed and bring their flags up to date."""
    session = uow.session
    settle_persons(uow)
    session.flush()
    latest = latest_scanned(session)
    if latest is None:
        # No flag to follow yet; the next scan reads these cases again all the same.
        uow.bump(uow.touched)
        write_next_checks(session, dict.fromkeys(uow.touched))
        return None
    acted_on = max(on for _reference, on in uow.touched.values())
    day = max(latest, min(clock.today(), acted_on))
    known = snapshot.agencies(session)
    context = Context(day=day, contracts=snapshot.contracts(session, known))
    rulebook = Rulebook.configured(current_app.config if has_app_context() else None)
    journeys = snapshot.journeys_of(session, day, sorted(uow.touched), known)
    # A record not open on the day (closed by this unit) has left its linked group's journey,
    # as an unlinked record would: its person's group is noted as changed, so the group's open
    # cases, its lead among them, are checked too.
    read = set(uow.touched)
    gone = read - {j.case.id for j in journeys}
    if gone:
        touch_persons(uow, _persons_of(session, gone), day, None)
        settle_persons(uow)
        journeys += snapshot.journeys_of(session, day, sorted(set(uow.touched) - read), known)
    ids = sorted(uow.touched)
    references = {case_id: reference for case_id, (reference, _on) in uow.touched.items()}
    # A change to one record of a linked person changes the journey its group's lead case
    # holds for the rules (`gapwatch.linked`): check the lead too.
    leads = {j.case.linked_into for j in journeys if j.case.linked_into} - set(references.values())
    if leads:
        found = dict(session.connection().execute(
            select(Case.id, Case.reference).where(Case.reference.in_(sorted(leads)))).all())
        references.update(found)
        ids = sorted({*ids, *found})
        journeys += snapshot.journeys_of(session, day, sorted(found), known)
    # Whatever changed them, their versions move: a scan that read them before this unit
    # checks them again under the writers' lock (`scan._again`) rather than write its reading.
    uow.bump(ids)
    checked = rulebook.check(journeys, context, Chunk())
    findings = checked.findings
    is_open = {journey.case.id for journey in journeys}
    # The next day the daily scan must look at these cases again; one not open: its next scan.
    # What the forecast kept of them no longer holds: the next one reads them.
    write_next_checks(session, {**dict.fromkeys(set(ids) - is_open), **checked.next_checks})
    forecast.keep(session, ids, {})
    rows = _flags_of(session, ids)
    # Whose pages this changes: a flag found again may be reworded (unaudited), a lead's
    # included, or stop telling an agency, whose dashboard then changes too.
    uow.trail.reach.include(ids)
    for row in rows:
        uow.trail.reach.told_before(row.notify)
    acks = acknowledgements(session, Flag.case_id.in_(ids))
    result = ScanResult(as_of=day)
    cause = sorted(set(uow.actions))
    counted_before = tally.counted(session, [r.id for r in rows])
    opened: list[int] = []
    through = seen_through(session)
    for these, why in ((is_open, "the condition no longer holds"),
                       (set(ids) - is_open, "the case is not open")):
        changes = plan([r for r in rows if r.case_id in these],
                       [f for f in findings if f.case_id in these],
                       {i: references[i] for i in these}, day, result, acks, why,
                       seen_through=through, affirm=True)
        for _case_id, _reference, _action, detail in changes.audits:
            detail["cause"] = cause  # what the people acting did, that changed the flag
        _write(uow, changes)
        opened += [values["id"] for values in changes.inserts]
    session.flush()
    tally.shift(session, counted_before, tally.counted(session, [r.id for r in rows] + opened))
    return result


def _persons_of(session, case_ids: set[int]) -> set[int]:
    """Return the persons of these cases, a statement per thousand."""
    ids, persons = sorted(case_ids), set()
    for start in range(0, len(ids), 1000):
        persons.update(session.connection().execute(
            select(Case.person_id).where(snapshot.among(ids[start:start + 1000])(Case.id)))
            .scalars())
    return persons


def _flags_of(session, ids: list[int]) -> list:
    rows = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows += session.connection().execute(
            select(*_FLAG_COLUMNS).where(Flag.case_id.in_(chunk))).all()
    return rows
