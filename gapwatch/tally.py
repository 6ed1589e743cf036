"""The flag tally: the dashboard's flag counts, kept in step with the flags they count.

`rebuild` rewrites the whole tally from the flags (a full scan calls it inside its unit of
work, once its flags are written); `counted` and `shift` move a few flags' counts from what they
were to what they are (an acknowledgement, a unit of work's re-check of its cases' flags, and a
daily scan's flags written, which are few: rebuilding from 112,000 flags at 500,000 cases was
8% of a quiet day's scan). Both run under the writers' lock, so the tally is never read half-changed, and
`counts` reads it for one agency, or for every agency through the "*" rows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from datetime import date

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session

from gapwatch.db import is_sqlite
from gapwatch.models import Flag, FlagAcknowledgement, FlagStatus, FlagTally

log = logging.getLogger(__name__)
EVERY_AGENCY = "*"
COUNTED = (FlagStatus.open.value, FlagStatus.acknowledged.value)


def _notified(session: Session):
    """Return the codes in a flag's `notify` list as a table to join to the flag (`value`)."""
    if is_sqlite(session):
        codes = func.json_each(Flag.notify).table_valued("value")
    else:
        codes = func.jsonb_array_elements_text(cast(Flag.notify, JSONB)).table_valued("value")
    return codes


def rebuild(session: Session) -> None:
    """Rewrite the tally from the flags: one grouped query per side, no row read in Python.

    Each agency's rows count a flag as acknowledged when that agency has acknowledged it; the
    "*" rows count each flag once, by its own status (acknowledged once everyone it tells has).
    """
    codes = _notified(session)
    counted = Flag.status.in_(COUNTED)
    ack = FlagAcknowledgement
    status = case((ack.id.is_not(None), FlagStatus.acknowledged.value),
                  else_=FlagStatus.open.value)
    per_agency = (
        select(cast(codes.c.value, String), Flag.severity, status, Flag.first_seen_on,
               func.count(Flag.id.distinct()))
        .select_from(Flag).join(codes, true())
        .outerjoin(ack, and_(ack.flag_id == Flag.id, ack.agency == cast(codes.c.value, String)))
        .where(counted)
        .group_by(codes.c.value, Flag.severity, status, Flag.first_seen_on)
    )
    everyone = (
        select(literal(EVERY_AGENCY, String), Flag.severity, Flag.status, Flag.first_seen_on,
               func.count())
        .where(counted)
        .group_by(Flag.severity, Flag.status, Flag.first_seen_on)
    )
    session.execute(delete(FlagTally))
    session.execute(
        insert(FlagTally).from_select(
            ["agency", "severity", "status", "first_seen_on", "flags"],
            union_all(per_agency, everyone),
        )
    )


Key = tuple[str, str, str, date]  # agency, severity, status, first seen on


def counted(session: Session, flag_ids: Collection[int]) -> Counter[Key]:
    """Return how the tally counts these flags now: what `shift` takes away or adds."""
    found: Counter[Key] = Counter()
    ids = list(flag_ids)
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        acknowledged = {(row[0], row[1]) for row in session.execute(
            select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency)
            .where(FlagAcknowledgement.flag_id.in_(chunk)))}
        for flag_id, severity, status, first_seen_on, notify in session.execute(
            select(Flag.id, Flag.severity, Flag.status, Flag.first_seen_on, Flag.notify)
            .where(Flag.id.in_(chunk), Flag.status.in_(COUNTED))
        ):
            found[(EVERY_AGENCY, severity, status, first_seen_on)] += 1
            for code in dict.fromkeys(notify or []):
                mine = (FlagStatus.acknowledged.value if (flag_id, code) in acknowledged
                        else FlagStatus.open.value)
                found[(code, severity, mine, first_seen_on)] += 1
    return found


def shift(session: Session, before: Counter[Key], after: Counter[Key]) -> None:
    """Move the tally from counting some flags as `before` to counting them as `after`."""
    for key in {*before, *after}:
        change = after[key] - before[key]
        if change > 0:
            _add(session, *key, change)
        elif change < 0:
            _take(session, *key, -change)


def _add(session: Session, agency: str, severity: str, status: str, first_seen_on: date,
         number: int = 1) -> None:
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = dialect.insert(FlagTally).values(
        agency=agency, severity=severity, status=status, first_seen_on=first_seen_on,
        flags=number,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["agency", "severity", "status", "first_seen_on"],
        set_={"flags": FlagTally.flags + number},
    )
    session.execute(statement)


def _take(session: Session, agency: str, severity: str, status: str, first_seen_on: date,
          number: int = 1) -> None:
    taken = session.execute(
        update(FlagTally)
        .where(FlagTally.agency == agency, FlagTally.severity == severity,
               FlagTally.status == status, FlagTally.first_seen_on == first_seen_on,
               FlagTally.flags >= number)
        .values(flags=FlagTally.flags - number)
    ).rowcount
    if not taken:  # only a tally that has drifted; the next scan rewrites it
        log.warning("the flag tally had fewer than %d %s %s flags first seen on %s for %s to "
                    "take away", number, status, severity, first_seen_on, agency)


def counts(session: Session, agency: str | None, new_since: date) -> dict:
    """Return {severity: open flags}, plus "new" (open, first seen on or after `new_since`) and
    "acknowledged", for the flags notifying `agency` (a code), or every flag (None)."""
    result = {"new": 0, "acknowledged": 0}
    fresh = case((FlagTally.first_seen_on >= new_since, FlagTally.flags), else_=0)
    for severity, status, flags, new in session.execute(
        select(FlagTally.severity, FlagTally.status, func.sum(FlagTally.flags), func.sum(fresh))
        .where(FlagTally.agency == (EVERY_AGENCY if agency is None else agency))
        .group_by(FlagTally.severity, FlagTally.status)
    ):
        if status == FlagStatus.acknowledged:
            result["acknowledged"] += int(flags or 0)
        else:
            result[severity] = result.get(severity, 0) + int(flags or 0)
            result["new"] += int(new or 0)
    return result
