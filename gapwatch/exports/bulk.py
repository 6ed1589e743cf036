"""The bulk export: every case's records in one zip, streamed with flat memory, and its check.

One JSON Lines file per kind of record, written straight into the zip (`ZipFile.open(name, "w")`
streams) from one query per file read `CHUNK` rows at a time, all inside one read transaction
(a consistent snapshot; PostgreSQL's REPEATABLE READ). `manifest.json` lists each file's rows and
SHA-256 and the audit chain's head, so `check_export` can later prove the export matches the
system and the system's history was not rewritten since.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, or_, select, true
from sqlmodel import Session

from gapwatch import audit, clock
from gapwatch import operations as ops
from gapwatch.exports.jsonlines import row_json
from gapwatch.models import Agency, AuditEvent, Case, Contract, Flag, Handoff, Ownership, Person
from gapwatch.queries import visible_to_agency
from gapwatch.seen import seen_on_column

FORMAT = "gapwatch.bulk-export/1"
CHUNK = 10_000
FLUSH_BYTES = 1 << 20
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Selection:
    """Which cases a bulk export holds: those an agency was involved in, open within the days."""

    agency_id: int | None = None
    since: date | None = None
    until: date | None = None

    def cases(self):
        """Return a WHERE clause on Case."""
        where = [true()]
        if self.agency_id is not None:
            where.append(visible_to_agency(self.agency_id))
        if self.until is not None:
            where.append(Case.opened_on <= self.until)
        if self.since is not None:
            where.append(or_(Case.closed_on.is_(None), Case.closed_on > self.since))  # open on a day: d < closed_on
        return and_(*where)

    def audit(self):
        """Return a WHERE clause on AuditEvent: the cases' entries (all, when nothing is chosen)."""
        where = []
        if self.agency_id is not None:
            where.append(AuditEvent.case_id.in_(select(Case.id).where(self.cases())))
        if self.since is not None:
            where.append(AuditEvent.at >= _midnight(self.since))
        if self.until is not None:
            where.append(AuditEvent.at < _midnight(self.until + timedelta(days=1)))
        return and_(true(), *where)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clock.ZONE)


def _queries(selection: Selection, dialect: str) -> list[tuple[str, object]]:
    """Return (file name, query of JSON lines) for each file; case rows carry the case reference."""
    chosen = selection.cases()

    def lines(model, *extra, said=None):
        """`said`: a column's value as exported, by its name, where not the stored one."""
        said = said or {}
        columns = [said[c.name].label(c.name) if c.name in said else c
                   for c in model.__table__.columns]
        return select(row_json(dialect, [*columns, *extra]))

    def scoped(model, said=None):
        return (lines(model, Case.reference.label("case"), said=said).select_from(model)
                .join(Case, Case.id == model.case_id)
                .where(chosen).order_by(model.id))

    return [
        ("agencies.jsonl", lines(Agency).order_by(Agency.id)),
        ("contracts.jsonl", lines(Contract).order_by(Contract.id)),
        ("persons.jsonl", lines(Person).where(Person.id.in_(select(Case.person_id).where(chosen)))
         .order_by(Person.id)),
        ("cases.jsonl", lines(Case, Person.reference.label("person")).select_from(Case)
         .join(Person, Person.id == Case.person_id).where(chosen).order_by(Case.id)),
        ("ownerships.jsonl", scoped(Ownership)),
        ("handoffs.jsonl", scoped(Handoff)),
        # A flag's last day seen as the API says it (`gapwatch.seen`), not only as stored.
        ("flags.jsonl", scoped(Flag, said={"last_seen_on": seen_on_column()})),
        ("audit.jsonl", lines(AuditEvent).where(selection.audit()).order_by(AuditEvent.seq)),
    ]


@dataclass
class FileSummary:
    rows: int = 0
    sha256: str = ""
    bytes: int = 0


@dataclass
class Manifest:
    selection: Selection
    exported_by: str
    exported_at: datetime = field(default_factory=clock.now)
    audit_head: tuple[int, str] = (0, audit.GENESIS)
    files: dict[str, FileSummary] = field(default_factory=dict)

    def as_json(self, agency_code: str | None) -> dict:
        s = self.selection
        return {
            "format": FORMAT,
            "exported_at": self.exported_at.isoformat(),
            "exported_by": self.exported_by,
            "selection": {"agency": agency_code, "since": s.since and s.since.isoformat(),
                          "until": s.until and s.until.isoformat()},
            "audit_head": {"seq": self.audit_head[0], "hash": self.audit_head[1]},
            "files": {name: {"rows": f.rows, "sha256": f.sha256, "bytes": f.bytes}
                      for name, f in self.files.items()},
        }


def _lines(connection: Connection, query) -> Iterator[str]:
    """Yield the query's JSON lines, fetched `CHUNK` at a time (a server-side cursor)."""
    result = connection.execution_options(yield_per=CHUNK).execute(query)
    for partition in result.partitions():
        for (line,) in partition:
            yield line + "\n"


def _write_file(archive: zipfile.ZipFile, name: str, lines: Iterator[str],
                progress: Progress | None) -> FileSummary:
    summary, digest, buffer, size = FileSummary(), hashlib.sha256(), [], 0
    with archive.open(name, "w", force_zip64=True) as out:
        for line in lines:
            buffer.append(line)
            size += len(line)
            summary.rows += 1
            if size >= FLUSH_BYTES:
                _flush(out, digest, buffer, summary)
                buffer, size = [], 0
            if progress is not None and summary.rows % 100_000 == 0:
                progress(name, summary.rows)
        _flush(out, digest, buffer, summary)
    summary.sha256 = digest.hexdigest()
    if progress is not None:
        progress(name, summary.rows)
    return summary


def _flush(out, digest, buffer: list[str], summary: FileSummary) -> None:
    data = "".join(buffer).encode("utf-8")
    digest.update(data)
    out.write(data)
    summary.bytes += len(data)


def export_all(engine: Engine, path: Path, *, actor: ops.Actor, agency: str | None = None,
               since: date | None = None, until: date | None = None,
               progress: Progress | None = None) -> dict:
    """Write the bulk export zip at `path` and return its manifest (audited as `export.bulk`)."""
    session = Session(engine, expire_on_commit=False)
    try:
        with ops.unit_of_work(session, actor, renews_stamp=False) as uow:  # only an entry
            agency_id = uow.agency(agency, field="agency").id if agency else None
            uow.audit("export.bulk", agency=agency, since=since, until=until, file=path.name)
    finally:
        session.close()
    selection = Selection(agency_id, since, until)
    manifest = Manifest(selection, actor.name)
    isolation = {} if engine.dialect.name == "sqlite" else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**isolation) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")  # times as ...+00:00
        manifest.audit_head = audit.chain_head(connection)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, query in _queries(selection, engine.dialect.name):
                lines = _lines(connection, query)
                manifest.files[name] = _write_file(archive, name, lines, progress)
            document = manifest.as_json(agency)
            archive.writestr("manifest.json", json.dumps(document, indent=2) + "\n")
    return document

