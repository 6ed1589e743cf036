"""The flag tally: the dashboard's flag counts, kept in step with the flags they count.

`rebuild` rewrites the whole tally from the flags (the daily scan calls it inside its unit of
work, once its flags are written); `move` shifts one flag from one status to another (an
acknowledgement, inside its unit of work). Both run under the writers' lock, so the tally is never read half-changed, and
`counts` reads it for one agency, or for every agency through the "*" rows.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import (
    String,
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
from gapwatch.models import Flag, FlagStatus, FlagTally

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
    """Rewrite the tally from the flags: one grouped query per side, no row read in Python."""
    codes = _notified(session)
    counted = Flag.status.in_(COUNTED)
    per_agency = (
        select(cast(codes.c.value, String), Flag.severity, Flag.status, Flag.first_seen_on,
               func.count(Flag.id.distinct()))
        .select_from(Flag).join(codes, true())
        .where(counted)
        .group_by(codes.c.value, Flag.severity, Flag.status, Flag.first_seen_on)
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


def move(session: Session, flag: Flag, *, before: str, after: str) -> None:
    """Count `flag` under status `after` instead of `before` (either may be uncounted)."""
    if before == after:
        return
    for code in {*flag.notify, EVERY_AGENCY}:
        if before in COUNTED:
            _take(session, code, flag.severity, before, flag.first_seen_on)
        if after in COUNTED:
            _add(session, code, flag.severity, after, flag.first_seen_on)


def _add(session: Session, agency: str, severity: str, status: str, first_seen_on: date) -> None:
    dialect = sqlite if is_sqlite(session) else postgresql
    statement = dialect.insert(FlagTally).values(
        agency=agency, severity=severity, status=status, first_seen_on=first_seen_on, flags=1,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["agency", "severity", "status", "first_seen_on"],
        set_={"flags": FlagTally.flags + 1},
    )
    session.execute(statement)


def _take(session: Session, agency: str, severity: str, status: str, first_seen_on: date) -> None:
    taken = session.execute(
        update(FlagTally)
        .where(FlagTally.agency == agency, FlagTally.severity == severity,
               FlagTally.status == status, FlagTally.first_seen_on == first_seen_on,
               FlagTally.flags > 0)
        .values(flags=FlagTally.flags - 1)
    ).rowcount
    if not taken:  # only a tally that has drifted; the next scan rewrites it
        log.warning("the flag tally had no %s %s flag first seen on %s for %s to take away",
                    status, severity, first_seen_on, agency)


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
