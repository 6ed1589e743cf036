"""The last day a flag was found.

Every scan that writes finds again each unresolved flag of the cases open on its day, or
resolves it, so it does not store that day on each of them: at 500,000 cases, rewriting the
112,000 unresolved flags every day cost the daily scan more than its rules did. A flag stores
`last_seen_on` when it is written (opened, changed, reopened, resolved, or found again by a
unit of work's re-check); an unresolved flag was also seen on the last day scanned, if later.
The API, the case history and the bulk export all say `seen_on` of the stored day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from gapwatch.models import Flag, FlagStatus, ScanRun


def seen_through(session: Session) -> date | None:
    """Return the last day a scan wrote its findings, when every unresolved flag was seen."""
    return session.connection().execute(select(func.max(ScanRun.day))).scalar()


def seen_on(stored: date, status: str, through: date | None) -> date:
    """Return the last day a flag was found: for one unresolved, the last day scanned
    (`through`) if later than the day stored."""
    if status != FlagStatus.resolved and through is not None and through > stored:
        return through
    return stored


def seen_on_column():
    """`seen_on` of each flag as a column of a query, the last day scanned read in it."""
    through = select(func.max(ScanRun.day)).scalar_subquery()
    return case((and_(Flag.status != FlagStatus.resolved.value, Flag.last_seen_on < through),
                 through), else_=Flag.last_seen_on)
