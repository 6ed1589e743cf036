"""Rows as JSON Lines, built by the database itself: Python only joins the lines.

Each exported row is one `json_object(...)` (SQLite) or `json_build_object(...)` (PostgreSQL)
over its columns, in table order, followed by the agency codes of its agency ids. The database
writes dates as ISO text, JSON columns as JSON, booleans as true/false and times as Python's
`isoformat()` writes them in UTC, so nothing is parsed or re-encoded in Python: the export runs
at the speed of the cursor.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, DateTime, case, cast, func, literal, select, type_coerce
from sqlalchemy.types import Text

from gapwatch.models import Agency

# Columns that hold an agency's id: each is exported with the agency's code beside it.
AGENCY_COLUMNS = {
    "provider_id": "provider", "commissioner_id": "commissioner", "home_area_id": "home_area",
    "agency_id": "agency", "from_agency_id": "from_agency", "to_agency_id": "to_agency",
}


def _sqlite_value(column):
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, JSON):
        return func.json(type_coerce(column, Text))
    if isinstance(kind, Boolean):
        return func.json(case((column.is_(None), "null"), (column, "true"), else_="false"))
    if isinstance(kind, DateTime):
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC.
        return case((column.is_(None), None),
                    else_=func.replace(type_coerce(column, Text), " ", "T") + "+00:00")
    return column  # numbers as numbers; text and dates (stored as ISO text) as strings


def _postgresql_value(column):
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, DateTime):
        # Six fraction digits always, as Python's isoformat writes them.
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    return column


def _code(column):
    return select(Agency.code).where(Agency.id == column).scalar_subquery()


def row_json(dialect: str, columns: list):
    """Return an expression giving one row of `columns` as a JSON object's text."""
    pairs = []
    for column in columns:
        value = _sqlite_value(column) if dialect == "sqlite" else _postgresql_value(column)
        pairs += [literal(column.name), value]
    for column in columns:
        if column.name in AGENCY_COLUMNS:
            pairs += [literal(AGENCY_COLUMNS[column.name]), _code(column)]
    build = func.json_object if dialect == "sqlite" else func.json_build_object
    return cast(build(*pairs), Text)  # text, not parsed by the driver
