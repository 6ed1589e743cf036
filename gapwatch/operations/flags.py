"""What case managers do with the rule engine's flags: acknowledge one, with a note, or snooze it.

A flag belongs to the engine: it opens, refreshes and resolves it on each scan. A person can only
say "we know, here is what we are doing" (acknowledge, with a note) and, optionally, "do not
remind us until this day" (snooze). An acknowledged flag stays acknowledged while its condition
holds; a snoozed one comes back as open on the first scan after its snooze day if the condition
is still there. Auditors read flags and never change them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gapwatch import tally
from gapwatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from gapwatch.models import Agency, Case, Flag, FlagStatus, Ownership, active_on
from gapwatch.operations.unit import UnitOfWork

MAX_NOTE = 2000


def _flag(uow: UnitOfWork, flag_id: int) -> tuple[Flag, Case]:
    row = uow.session.execute(
        select(Flag, Case).join(Case, Case.id == Flag.case_id).where(Flag.id == flag_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no flag {flag_id}", field="flag_id")
    return row[0], row[1]


def _owners(uow: UnitOfWork, case: Case, on: date) -> set[str]:
    """Return the codes of the agencies whose ownership of `case` is active on `on`."""
    rows = uow.session.execute(
        select(Agency.code)
        .join(Ownership, Ownership.agency_id == Agency.id)
        .where(
            Ownership.case_id == case.id, active_on(on),
        )
    ).scalars()
    return set(rows)


def _require_may_acknowledge(uow: UnitOfWork, flag: Flag, case: Case, on: date) -> None:
    actor = uow.actor
    if actor.read_only:
        raise Forbidden(f"{actor.name} has read-only access and cannot acknowledge flags")
    if actor.agency is None or actor.agency in (flag.notify or []):
        return
    if actor.agency in _owners(uow, case, on):
        return
    told = ", ".join(flag.notify or []) or "nobody"
    raise Forbidden(
        f"flag {flag.id} on case {case.reference} is for {told} or the case's owners; "
        f"you act for {actor.agency}"
    )


def _who(uow: UnitOfWork) -> str:
    name = uow.actor.name
    return name.split(":", 1)[1] if name.startswith("user:") else name


def acknowledge_flag(
    uow: UnitOfWork, *, flag_id: int, on: date, note: str, snooze_until: date | None = None
) -> Flag:
    """Acknowledge flag `flag_id` with a note; with `snooze_until`, quiet it until that day."""
    flag, case = _flag(uow, flag_id)
    _require_may_acknowledge(uow, flag, case, on)
    note = (note or "").strip()
    if not note:
        raise InvalidInput("an acknowledgement needs a note saying what is being done", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note has {len(note)} characters; at most {MAX_NOTE}", field="note")
    if flag.status == FlagStatus.resolved:
        raise Conflict(
            f"flag {flag.id} on case {case.reference} was resolved on {flag.resolved_on}; "
            "there is nothing left to acknowledge",
            field="flag_id",
        )
    if snooze_until is not None and snooze_until <= on:
        raise InvalidInput(
            f"snooze_until {snooze_until} must be after {on}, the day of the acknowledgement",
            field="snooze_until",
        )
    before = _view(flag)
    tally.move(uow.session, flag, before=flag.status, after=FlagStatus.acknowledged.value)
    flag.status = FlagStatus.acknowledged.value
    flag.note = note
    flag.acknowledged_by = _who(uow)[:254]
    flag.acknowledged_on = on
    flag.snoozed_until = snooze_until
    uow.trail.record(
        actor=uow.actor.name,
        action="flag.acknowledged",
        case_id=case.id,
        case_reference=case.reference,
        detail={"flag": flag.id, "rule": flag.rule, "subject": flag.subject, "on": on,
                "before": before, "after": _view(flag)},
    )
    return flag


def _view(flag: Flag) -> dict:
    return {
        "status": flag.status,
        "note": flag.note,
        "acknowledged_by": flag.acknowledged_by,
        "acknowledged_on": flag.acknowledged_on,
        "snoozed_until": flag.snoozed_until,
    }
