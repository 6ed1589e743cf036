"""Checking a bulk export against the system: its files, its audit entries and the chain's head."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from gapwatch import audit
from gapwatch.models import AuditEvent

CHUNK = 5000


def _file_problems(archive: zipfile.ZipFile, manifest: dict) -> Iterator[str]:
    names = set(archive.namelist()) - {"manifest.json"}
    for name in sorted(names - set(manifest["files"])):
        yield f"{name} is in the zip but not in the manifest"
    for name, expected in manifest["files"].items():
        if name not in names:
            yield f"{name} is in the manifest but missing from the zip"
            continue
        digest, rows = hashlib.sha256(), 0
        with archive.open(name) as stream:
            for block in iter(lambda s=stream: s.read(1 << 20), b""):
                digest.update(block)
                rows += block.count(b"\n")
        if digest.hexdigest() != expected["sha256"]:
            yield f"{name} was altered: its SHA-256 is {digest.hexdigest()}, the manifest says {expected['sha256']}"
        elif rows != expected["rows"]:
            yield f"{name} has {rows} rows, the manifest says {expected['rows']}"


def _entries(archive: zipfile.ZipFile) -> Iterator[audit.Entry]:
    with archive.open("audit.jsonl") as stream:
        for line in stream:
            row = json.loads(line)
            row["at"] = datetime.fromisoformat(row["at"])
            yield audit.Entry(**{name: row[name] for name in audit.Entry.__slots__})


def _audit_problems(session: Session, archive: zipfile.ZipFile) -> Iterator[str]:
    """Compare every exported audit entry, column by column, with the system's of the same `seq`."""
    batch: list[audit.Entry] = []
    for entry in _entries(archive):
        if not entry.intact:
            yield f"exported audit entry {entry.seq} does not match its own hash"
            return
        batch.append(entry)
        if len(batch) == CHUNK:
            yield from _compare(session, batch)
            batch = []
    yield from _compare(session, batch)


def _compare(session: Session, batch: list[audit.Entry]) -> Iterator[str]:
    if not batch:
        return
    rows = session.execute(
        select(*audit.ENTRY_COLUMNS).where(AuditEvent.seq.in_([e.seq for e in batch]))
    ).all()
    stored = {row[0]: audit.Entry(*row) for row in rows}
    for entry in batch:
        if entry.seq not in stored:
            yield f"audit entry {entry.seq} is in the export but no longer in the system: removed"
        elif stored[entry.seq] != entry:
            yield f"audit entry {entry.seq} differs between the export and the system: changed"


def _head_problems(session: Session, manifest: dict) -> Iterator[str]:
    seq, expected = manifest["audit_head"]["seq"], manifest["audit_head"]["hash"]
    if seq == 0:
        return
    found = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq)).scalar()
    if found is None:
        yield f"the export's audit head, entry {seq}, is no longer in the system: removed"
    elif found != expected:
        yield f"the export's audit head, entry {seq}, has a different hash in the system: history was rewritten"


def check_export(session: Session, path: Path) -> tuple[list[str], audit.Verdict, dict]:
    """Return (problems, the system chain's verdict, the manifest) for the bulk export at `path`."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        problems = list(_file_problems(archive, manifest))
        if not problems:
            problems += list(_audit_problems(session, archive))
    verdict = audit.verify(session)
    problems += list(_head_problems(session, manifest))
    if not verdict.ok:
        problems.append(f"the system's audit chain is broken: {verdict.message}")
    return problems, verdict, manifest
