"""Writing many rows at once: one `executemany` on SQLite, one `COPY` on PostgreSQL.

The unit of work (`gapwatch.operations.unit`) and the audit trail (`gapwatch.audit`) keep the
rows the operations decided on in plain buffers and hand them here in foreign-key order, as
tuples in the order of `names`. The values go through each column's own SQLAlchemy type for
the database at hand (dates, aware datetimes, JSON), as an ORM flush would write them; a column
named in `raw` is written as given (the audit trail's detail, already serialised to the exact
text its hash covers).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import JSON, Connection, Table, bindparam, column, insert, table, update
from sqlalchemy.types import NullType

# Allocations between two collections of the youngest generation during a bulk job (Python's
# default is 700).
BULK_GC_THRESHOLD = 50_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while the block runs (also as a decorator).

    A bulk job keeps many objects alive at once (a unit of work's rows and journeys, a chunk of
    findings), and every collection of the oldest generation walks all of them: at Python's
    default thresholds that was 13% of loading the demo and 18% of a first scan, and 2% at
    these. The block's garbage is collected all the same, in fewer, larger passes.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], BULK_GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


# Below this many rows a COPY's extra round trips cost more than the multi-row INSERT
# SQLAlchemy builds for an executemany on PostgreSQL.
COPY_FROM = 64


def insert_rows(connection: Connection, target: Table, names: Sequence[str],
                rows: Sequence[tuple], raw: Collection[str] = ()) -> None:
    """Insert `rows`, tuples of the columns `names`, into `target` in one statement or COPY."""
    if not rows:
        return
    dialect = connection.dialect
    convert = _converters(target, tuple(names), dialect, frozenset(raw))
    if convert:
        rows = [_converted(row, convert) for row in rows]
    quoted = ", ".join(f'"{name}"' for name in names)
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                f'COPY "{target.name}" ({quoted}) FROM STDIN') as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    elif dialect.name == "sqlite":
        marks = ", ".join("?" * len(names))
        connection.exec_driver_sql(f'INSERT INTO "{target.name}" ({quoted}) VALUES ({marks})',
                                   list(rows))
    else:
        # A few rows: SQLAlchemy's own executemany (values already converted, so untyped).
        untyped = table(target.name, *[column(name, NullType()) for name in names])
        connection.execute(insert(untyped), [dict(zip(names, row, strict=True)) for row in rows])


def update_rows(connection: Connection, target: Table, rows: Sequence[dict]) -> None:
    """Update rows by `id` to the values each dict holds (every dict has the same keys)."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    statement = (update(target).where(target.c.id == bindparam("_id"))
                 .values({name: bindparam(name) for name in columns}))
    connection.execute(statement, [
        {"_id": row["id"], **{name: row[name] for name in columns}} for row in rows])


def _converted(row: tuple, convert: list[tuple[int, object]]) -> tuple:
    values = list(row)
    for index, to in convert:
        if (value := values[index]) is not None:
            values[index] = to(value)
    return tuple(values)


_known: dict = {}


def _converters(target: Table, names: tuple[str, ...], dialect, raw: frozenset[str]):
    """Return (position, function) for each column whose values need converting for `dialect`."""
    key = (target.name, names, dialect.name, raw)
    if key not in _known:
        found = []
        for index, name in enumerate(names):
            if name in raw:
                continue
            kind = target.c[name].type
            if isinstance(kind, JSON) and dialect.name == "postgresql":
                to = json.dumps  # COPY writes the text
            else:
                to = kind.dialect_impl(dialect).bind_processor(dialect)
            if to is not None:
                found.append((index, to))
        _known[key] = found
    return _known[key]
