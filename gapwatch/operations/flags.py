"""What case managers do with the rule engine's flags: acknowledge one, with a note, or snooze it.

A flag belongs to the engine: it opens, refreshes and resolves it on each scan. A person can only
say, for their own agency, "we know, here is what we are doing" (acknowledge, with a note) and,
optionally, "do not remind us until this day" (snooze). Each agency the flag tells answers for
itself: the others still see it as theirs to act on, and who is on it. An agency's
acknowledgement holds while the condition does; a snoozed one ends on the first scan after its
snooze day if the condition is still there. Auditors read flags and never change them.
"""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import select

from gapwatch import authority, tally
from gapwatch.clock import long_day
from gapwatch.errors import Conflict, InvalidInput, NotFound
from gapwatch.models import Case, Flag, FlagAcknowledgement, FlagStatus
from gapwatch.operations.unit import UnitOfWork

MAX_NOTE = 2000


def _flag(uow: UnitOfWork, flag_id: int) -> tuple[Flag, Case]:
    row = uow.session.execute(
        select(Flag, Case).join(Case, Case.id == Flag.case_id).where(Flag.id == flag_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no flag {flag_id}", field="flag_id")
    return row[0], row[1]


def _who(uow: UnitOfWork) -> str:
    name = uow.actor.name
    return name.split(":", 1)[1] if name.startswith("user:") else name


def acknowledge_flag(
    uow: UnitOfWork, *, flag_id: int, on: date, note: str, snooze_until: date | None = None,
    seen: str | None = None,
) -> Flag:
    """Acknowledge flag `flag_id` for the actor's agency, with a note; with `snooze_until`,
    quiet it for that agency until that day. The other agencies it tells still see it open.

    `seen`, the `acknowledgement_mark` of the agency's acknowledgement as the actor last saw it
    ('' for none), refuses to replace one that someone else of the agency made or changed
    since: the page the actor acted on did not show it. Without it, the last word stands."""
    flag, case = _flag(uow, flag_id)
    uow.require(authority.may_acknowledge(uow.actor, flag.notify or []), field="flag_id")
    agency = uow.actor.agency
    note = (note or "").strip()
    if not note:
        raise InvalidInput("an acknowledgement needs a note saying what is being done", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note has {len(note)} characters; at most {MAX_NOTE}", field="note")
    if flag.status == FlagStatus.resolved:
        raise Conflict(
            f"flag {flag.id} on case {case.reference} was resolved on {long_day(flag.resolved_on)}; "
            "there is nothing left to acknowledge",
            field="flag_id",
        )
    if snooze_until is not None and snooze_until <= on:
        raise InvalidInput(
            f"the snooze must end after {long_day(on)}, the day of the acknowledgement: "
            f"{long_day(snooze_until)} is not",
            field="snooze_until",
        )
    session = uow.session
    counted_before = tally.counted(session, [flag.id])
    mine = session.execute(
        select(FlagAcknowledgement).where(FlagAcknowledgement.flag_id == flag.id,
                                          FlagAcknowledgement.agency == agency)
    ).scalar_one_or_none()
    before = _view(mine)
    # Someone else's word the actor's page did not show is not replaced unread. (Their own
    # word, from a second tab or a second click, is theirs to replace; one that ended since, a
    # snooze passed, leaves nothing to replace.)
    if (seen is not None and mine is not None and seen != acknowledgement_mark(mine)
            and mine.acknowledged_by != _who(uow)[:254]):
        raise Conflict(
            f"{agency} acknowledged this flag after you opened the page: "
            f"{mine.acknowledged_by} on {mine.acknowledged_on}, \"{mine.note}\". Read it on the "
            "case page; acknowledge again there to replace it",
            field="note",
        )
    if mine is None:
        mine = uow.insert(FlagAcknowledgement, id=uow.new_id(FlagAcknowledgement),
                          flag_id=flag.id, agency=agency, note=note,
                          acknowledged_by=_who(uow)[:254], acknowledged_on=on,
                          snoozed_until=snooze_until)
    else:
        mine.note, mine.acknowledged_by = note, _who(uow)[:254]
        mine.acknowledged_on, mine.snoozed_until = on, snooze_until
    uow.write()
    flag.status = status_of(session, flag)
    session.flush()
    tally.shift(session, counted_before, tally.counted(session, [flag.id]))
    uow.trail.record(
        actor=uow.actor.name,
        action="flag.acknowledged",
        case_id=case.id,
        case_reference=case.reference,
        detail={"flag": flag.id, "rule": flag.rule, "subject": flag.subject, "on": on,
                "agency": agency, "before": before, "after": _view(mine),
                "flag_status": flag.status},
    )
    return flag


def status_of(session, flag: Flag) -> str:
    """Return an unresolved flag's status: acknowledged once every agency it tells has."""
    told = set(flag.notify or [])
    acknowledged = set(session.execute(
        select(FlagAcknowledgement.agency).where(FlagAcknowledgement.flag_id == flag.id)
    ).scalars())
    return (FlagStatus.acknowledged.value if told and told <= acknowledged
            else FlagStatus.open.value)


def acknowledgement_mark(ack) -> str:
    """Return a short mark of an agency's acknowledgement as it stands ('' for none), for a
    form to carry what its reader saw (`acknowledge_flag`'s `seen`)."""
    if ack is None:
        return ""
    said = f"{ack.acknowledged_by}\n{ack.acknowledged_on}\n{ack.snoozed_until}\n{ack.note}"
    return hashlib.sha256(said.encode()).hexdigest()[:16]


def _view(ack: FlagAcknowledgement | None) -> dict:
    if ack is None:
        return {}
    return {
        "note": ack.note,
        "acknowledged_by": ack.acknowledged_by,
        "acknowledged_on": ack.acknowledged_on,
        "snoozed_until": ack.snoozed_until,
    }
