"""Case-history and bulk exports for auditors; every export is itself written to the audit trail."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.exports.formats import FORMATS, MEDIA_TYPES, render
from gapwatch.exports.history import case_history

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
    with ops.unit_of_work(session, actor) as uow:
        state = uow.case(reference)
        uow.audit("export.case", state=state, format=fmt, as_of=as_of,
                  details_shown=details_shown)
    return render(case_history(session, reference, as_of=as_of, details_shown=details_shown),
                  fmt)
