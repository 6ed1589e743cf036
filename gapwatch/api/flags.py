"""Reading flags on the cases the token's agency is involved in, filtered and paged by cursor.

Filters: `agency` (flags whose notify list names that agency), `rule`, `severity`, `status`.
Pages are in flag id order; `next_cursor` continues where the page stopped, so flags raised
between two calls are neither skipped nor repeated.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date

from flask import Blueprint, g, request
from sqlalchemy import String, cast, select
from sqlalchemy.dialects.postgresql import JSONB

from gapwatch.api.bearer import record_call, token_required
from gapwatch.api.problems import refuse_unknown_parameters
from gapwatch.db import get_session, is_sqlite
from gapwatch.errors import InvalidInput
from gapwatch.models import LARGEST_ID, Case, Flag, FlagStatus, Severity
from gapwatch.operations.records import AGENCY_CODE
from gapwatch.queries import acknowledgements_of, visible_to_agency
from gapwatch.seen import seen_on, seen_through

bp = Blueprint("flags", __name__)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PARAMETERS = ("agency", "rule", "severity", "status", "limit", "cursor")


def encode_cursor(flag_id: int) -> str:
    return base64.urlsafe_b64encode(f"flag:{flag_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the flag id a cursor continues after, or refuse a cursor this API did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "flag" and number.isdigit() and len(number) < 19 and int(number) <= LARGEST_ID:
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(f"cursor {cursor!r} is not one this API returned as next_cursor",
                       field="cursor")


def _choice(name: str, allowed: type) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    if value not in {v.value for v in allowed}:
        names = ", ".join(v.value for v in allowed)
        raise InvalidInput(f"{name} {value!r} is not one of {names}", field=name)
    return value


def _limit() -> int:
    value = request.args.get("limit", str(DEFAULT_LIMIT))
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(f"limit {value!r} must be a whole number from 1 to {MAX_LIMIT}",
                           field="limit")
    return int(value)


def _notifies(agency: str):
    """Keep flags whose notify list names `agency` (on PostgreSQL through ix_flag_notify)."""
    if is_sqlite(get_session()):
        # Agency codes hold no LIKE wildcards, and a JSON list quotes each code.
        return cast(Flag.notify, String).like(f'%"{agency}"%')
    return cast(Flag.notify, JSONB).contains([agency])


def filters() -> list:
    """Return the WHERE clauses the query string asks for, refusing values outside their sets."""
    where = []
    agency = request.args.get("agency")
    if agency is not None:
        if not AGENCY_CODE.fullmatch(agency):
            raise InvalidInput(f"agency {agency!r} is not an agency code", field="agency")
        where.append(_notifies(agency))
    rule = request.args.get("rule")
    if rule is not None:
        if not 1 <= len(rule) <= 64:
            raise InvalidInput("rule must be 1 to 64 characters", field="rule")
        where.append(Flag.rule == rule)
    for name, allowed, column in (("severity", Severity, Flag.severity),
                                  ("status", FlagStatus, Flag.status)):
        value = _choice(name, allowed)
        if value is not None:
            where.append(column == value)
    cursor = request.args.get("cursor")
    if cursor is not None:
        where.append(Flag.id > decode_cursor(cursor))
    return where


def flag_json(flag: Flag, case_reference: str, acks: list, agency: str | None,
              through: date | None) -> dict:
    """Return a flag as the API shows it to `agency`: `status`, `acknowledged_on`,
    `snoozed_until` and `note` are that agency's own; `acknowledgements` lists everyone's.
    `through` is the last day scanned (`gapwatch.seen`)."""
    day = lambda d: d.isoformat() if d else None  # noqa: E731
    mine = next((a for a in acks if a.agency == agency), None)
    status = flag.status
    if status != FlagStatus.resolved:
        status = FlagStatus.acknowledged.value if mine else FlagStatus.open.value
    return {
        "id": flag.id, "case": case_reference, "rule": flag.rule, "subject": flag.subject,
        "severity": flag.severity, "status": status, "since": day(flag.since),
        "notify": list(flag.notify), "message": flag.message,
        "first_seen_on": day(flag.first_seen_on), "last_seen_on": day(seen_on(flag.last_seen_on, flag.status, through)),
        "resolved_on": day(flag.resolved_on),
        "acknowledged_on": day(mine.acknowledged_on) if mine else None,
        "snoozed_until": day(mine.snoozed_until) if mine else None,
        "note": mine.note if mine else None,
        "acknowledgements": [
            {"agency": a.agency, "note": a.note, "acknowledged_on": day(a.acknowledged_on),
             "snoozed_until": day(a.snoozed_until)} for a in acks],
    }


@bp.get("/flags")
@token_required
def index():
    caller = g.caller
    refuse_unknown_parameters(*PARAMETERS)
    limit, where = _limit(), filters()
    rows = get_session().execute(
        select(Flag, Case.reference)
        .join(Case, Case.id == Flag.case_id)
        .where(visible_to_agency(caller.agency.id), *where)
        .order_by(Flag.id)
        .limit(limit + 1)
    ).all()
    page = rows[:limit]
    more = len(rows) > limit
    acks = acknowledgements_of(get_session(), [flag.id for flag, _reference in page])
    through = seen_through(get_session())
    body = {
        "items": [flag_json(flag, reference, acks.get(flag.id, []), caller.agency.code,
                            through) for flag, reference in page],
        "limit": limit,
        "next_cursor": encode_cursor(page[-1][0].id) if more else None,
    }
    record_call(caller, "api.read", flags=len(page), query=request.args.to_dict())
    return body
