"""Bulk import of JSON Lines and CSV files, all or nothing per file, through the domain operations.

A file is read as a stream, a chunk of records at a time: the chunk's cases are loaded in a few
set-based queries, then each record is checked and applied in file order. The whole file is one
transaction, so the first bad record rolls all of it back and its line and reason are reported.
A file whose exact content was imported before is recognised by its SHA-256 and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gapwatch import bulk, clock, db
from gapwatch import operations as ops
from gapwatch.errors import DomainError
from gapwatch.events import RECORD_TYPES, apply_record, chunks, parse_record, preload
from gapwatch.models import ImportBatch

CHUNK = 2000


class ImportFailed(Exception):
    """A file could not be imported; nothing of it was kept."""

    def __init__(self, path: str, line: int | None, reason: str):
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass
class ImportResult:
    path: str
    records: int
    skipped: bool = False
    imported_at: str = ""


# -- reading files ----------------------------------------------------------------------------
def _jsonl(stream: io.TextIOBase) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, DomainError(f"broken JSON: {error.msg} at column {error.colno}")


def _csv_kind(header: list[str]) -> str | None:
    """Tell a CSV file's record type from its columns when it has no `type` column."""
    columns = set(header)
    if "event" in columns:
        return "event"
    for kind, schema in RECORD_TYPES.items():
        required = {n for n, f in schema.model_fields.items() if f.is_required() and n != "type"}
        if required <= columns:
            return kind
    return None


def _csv_value(column: str, value: str):
    if column in {"alert_emails", "alert_severities", "escalation_emails"}:
        if value.startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
    if column == "identifiers":
        return json.loads(value)  # an object: {"noms": "A1234BC", ...}
    return value


def _csv(stream: io.TextIOBase) -> Iterator[tuple[int, object]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None:
        return
    header = [column.strip() for column in header]
    kind = None if "type" in header else _csv_kind(header)
    if "type" not in header and kind is None:
        yield 1, DomainError("cannot tell the record type: add a 'type' column")
        return
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield number, DomainError(f"has {len(row)} cells but the header has {len(header)}")
            continue
        record = {"type": kind} if kind else {}
        try:
            for column, cell in zip(header, row, strict=True):
                if cell.strip() != "":
                    record[column] = _csv_value(column, cell.strip())
        except json.JSONDecodeError as error:
            yield number, DomainError(f"broken JSON list: {error.msg}")
            continue
        yield number, record


def read_records(path: Path) -> Iterator[tuple[int, object]]:
    """Yield (line number, record or error) for each record of a JSON Lines or CSV file."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = _csv if path.suffix.lower() == ".csv" else _jsonl
        yield from reader(stream)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- applying them ----------------------------------------------------------------------------
@bulk.fewer_collections()
def import_file(
    session: Session,
    path: Path,
    *,
    actor: ops.Actor | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file in one transaction; raise ImportFailed naming the first bad line."""
    name = str(path)
    if not path.is_file():
        raise ImportFailed(name, None, "no such file")
    sha = file_hash(path)
    actor = actor or ops.Actor(name=f"import:{path.name}")
    count, line = 0, None
    try:
        with ops.unit_of_work(session, actor) as uow:
            earlier = session.execute(
                select(ImportBatch).where(ImportBatch.sha256 == sha)
            ).scalar()
            if earlier is not None:
                when = f"{earlier.imported_at:%Y-%m-%d %H:%M}"
                return ImportResult(name, earlier.records, skipped=True, imported_at=when)
            for chunk in chunks(read_records(path), CHUNK):
                parsed = []
                for line, data in chunk:
                    if isinstance(data, Exception):
                        raise data
                    parsed.append((line, parse_record(data)))
                preload(uow, [record for _line, record in parsed])
                for line, record in parsed:  # noqa: B007 (`line` names a failure)
                    apply_record(uow, record)
                    count += 1
                line = None
                uow.flush()
                uow.forget()  # the next chunk reads what it names again: flat memory
                if progress:
                    progress(len(chunk))
            session.add(ImportBatch(sha256=sha, filename=path.name, records=count,
                                    imported_at=clock.now(), actor=actor.name))
            uow.audit("import.completed", file=path.name, sha256=sha, records=count)
    except DomainError as error:
        raise ImportFailed(name, line, error.message) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).splitlines()[0]
        raise ImportFailed(name, line, f"the database refused it: {reason}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ImportFailed(name, line, f"cannot read the file: {error}") from None
    return ImportResult(name, count)


LARGE_FILE = 1_000_000  # bytes: larger files show their progress
# Records imported by one command from which the tables are vacuumed after (`db.vacuum`), as
# `gapwatch demo` does: until then the new rows' pages are not marked all-visible, and the
# dashboard's index-only counts read each of them.
VACUUM_AFTER = 5_000


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--progress/--no-progress", default=None,
              help="Show progress (default: for files over 1 MB).")
@with_appcontext
def import_command(files: tuple[Path, ...], progress: bool | None):
    """Load JSON Lines or CSV records, all or nothing per file."""
    session = db.new_session(db.get_engine())
    failed = imported = 0
    for path in files:
        try:
            size = path.stat().st_size if path.is_file() else 0
            if progress or (progress is None and size > LARGE_FILE):
                result = _import_showing_progress(session, path)
            else:
                result = import_file(session, path)
        except ImportFailed as error:
            failed += 1
            click.echo(f"gapwatch: {error} (nothing of {path} was imported)", err=True)
            continue
        if result.skipped:
            click.echo(f"{path}: already imported on {result.imported_at}; nothing changed")
        else:
            click.echo(f"{path}: imported {result.records} records")
            imported += result.records
    if imported >= VACUUM_AFTER:
        started = time.perf_counter()
        try:
            db.vacuum(session)
        except SQLAlchemyError as error:  # the records are in: only the upkeep failed
            reason = str(getattr(error, "orig", error)).splitlines()[0]
            click.echo(f"gapwatch: the records are imported, but the vacuum after them failed "
                       f"({reason}); autovacuum will come by, or run VACUUM (ANALYZE)", err=True)
        else:
            click.echo(f"vacuumed and analysed the database after {imported:,} records "
                       f"in {time.perf_counter() - started:.1f} s")
    session.close()
    if failed:
        raise SystemExit(1)


def _import_showing_progress(session: Session, path: Path) -> ImportResult:
    """Import with a progress bar on a terminal, or a line per chunk into a log."""
    stderr = sys.stderr
    total = _count_lines(path)
    if stderr.isatty():
        with click.progressbar(length=total, label=str(path), file=stderr) as bar:
            return import_file(session, path, progress=bar.update)
    done = 0

    def report(records: int) -> None:
        nonlocal done
        done += records
        click.echo(f"{path}: {done:,} of about {total:,} records checked", err=True)

    return import_file(session, path, progress=report)


def _count_lines(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
