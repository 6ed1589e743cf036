"""Case-history and bulk exports for auditors; every export is itself written to the audit trail."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.exports.formats import FORMATS, MEDIA_TYPES, render
from gapwatch.exports.history import case_history
from gapwatch.models import Agency

__all__ = ["FORMATS", "MEDIA_TYPES", "case_history", "export_case", "render"]


def export_case(session: Session, actor: ops.Actor, reference: str, *, fmt: str = "json",
                as_of: date | None = None, details_shown: bool = True) -> bytes:
    """Audit the export (`export.case`), then return the case's history written as `fmt`
    (with the person's details withheld unless `details_shown`).

    The entry is committed first, so the export's `audit_head` is its own entry or a later one:
    the chain an export vouches for already records the export.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r} is not one of {', '.join(FORMATS)}", field="format")
    # Only an entry: no page kept elsewhere shows exports, so it leaves the stamps alone.
    with ops.unit_of_work(session, actor, renews_stamp=False) as uow:
        state = uow.case(reference)
        uow.audit("export.case", state=state, format=fmt, as_of=as_of,
                  details_shown=details_shown)
    history = case_history(session, reference, as_of=as_of, details_shown=details_shown)
    if fmt not in ("html", "pdf"):
        return render(history, fmt)
    names, picture = picture_facts(session, reference, as_of, details_shown=details_shown)
    return render(history, fmt, names=names, picture=picture)


def picture_facts(session: Session, reference: str, as_of: date | None, *,
                  details_shown: bool = True):
    """Return the agencies' names by code and the whole journey's picture, as it stood at the
    end of `as_of` (or today); the 18th birthday is marked only where `details_shown`."""
    from gapwatch.queries import load_journey
    from gapwatch.web.timeline import picture_of

    day = as_of or clock.today()
    journey = load_journey(session, reference).as_of(day)
    picture = picture_of(session, journey, day, details_shown=details_shown, whole=True)
    names = dict(session.connection().execute(select(Agency.code, Agency.name)).all())
    session.rollback()  # end the read
    return names, picture
