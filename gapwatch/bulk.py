"""Writing many rows at once: one `executemany` on SQLite, one `COPY` on PostgreSQL.

The unit of work (`gapwatch.operations.unit`) and the audit trail (`gapwatch.audit`) keep the
rows the operations decided on in plain buffers and hand them here in foreign-key order. The
values go through each column's own SQLAlchemy type (dates, aware datetimes, JSON), as an ORM
flush would write them; a column named in `raw` is written as given (the audit trail's detail,
already serialised to the exact text its hash covers).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from functools import cache

from sqlalchemy import JSON, Connection, Table, bindparam, column, insert, table, update
from sqlalchemy.types import NullType

# Below this many rows a COPY's extra round trips cost more than the multi-row INSERT
# SQLAlchemy builds for an executemany on PostgreSQL.
COPY_FROM = 64


def insert_rows(connection: Connection, target: Table, rows: Sequence[dict],
                raw: Collection[str] = ()) -> None:
    """Insert `rows` (each a dict of column values) into `target`, in one statement or COPY."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        _copy(connection, target, rows, frozenset(raw))
        return
    connection.execute(insert(_as_written(target, frozenset(raw))), list(rows))


def update_rows(connection: Connection, target: Table, rows: Sequence[dict]) -> None:
    """Update rows by `id` to the values each dict holds (every dict has the same keys)."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    statement = (update(target).where(target.c.id == bindparam("_id"))
                 .values({name: bindparam(name) for name in columns}))
    connection.execute(statement, [
        {"_id": row["id"], **{name: row[name] for name in columns}} for row in rows])


@cache
def _as_written(target: Table, raw: frozenset[str]):
    """The table as an INSERT sees it, with the `raw` columns taking their values untouched."""
    if not raw:
        return target
    return table(target.name, *[
        column(c.name, NullType() if c.name in raw else c.type) for c in target.columns])


def _copy(connection: Connection, target: Table, rows: Sequence[dict],
          raw: frozenset[str]) -> None:
    names = list(rows[0])
    convert = [_converter(target, name, connection.dialect) if name not in raw else None
               for name in names]
    pairs = list(zip(names, convert, strict=True))
    columns = ", ".join(f'"{name}"' for name in names)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(
            f'COPY "{target.name}" ({columns}) FROM STDIN') as copy:
        write = copy.write_row
        for row in rows:
            write([value if (value := row[name]) is None or to is None else to(value)
                   for name, to in pairs])


_converters: dict = {}


def _converter(target: Table, name: str, dialect):
    """Return the function that turns a column's Python value into what COPY writes (or None)."""
    key = (target.name, name, dialect.name)
    if key not in _converters:
        kind = target.c[name].type
        if isinstance(kind, JSON):
            _converters[key] = json.dumps
        else:
            _converters[key] = kind.bind_processor(dialect)
    return _converters[key]
