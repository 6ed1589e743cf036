"""The audit trail: an append-only hash chain of who did what to which case, and when.

Each entry's hash covers its canonical content and the previous entry's hash, so changing,
removing or inserting an entry breaks the chain from that point on. Entries are appended
inside the writer's transaction while it holds the trail's lock (see `operations.unit`), so
two writers cannot both extend the same head.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from gapwatch import clock
from gapwatch.models import AuditEvent

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that serializes writers (and so the chain's appends).
WRITE_LOCK_KEY = 0x6761707761  # "gapwa"


def plain(value: Any) -> Any:
    """Return `value` as JSON-native data (dates as ISO strings), so it hashes as it reads back."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def canonical(entry: AuditEvent) -> bytes:
    """Return the bytes an entry's hash covers."""
    content = {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "case_id": entry.case_id,
        "case_reference": entry.case_reference,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEvent) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


class Trail:
    """Appends entries for one transaction, keeping the chain's head in memory."""

    def __init__(self, session: Session):
        self.session = session
        self._head: tuple[int, str] | None = None

    def head(self) -> tuple[int, str]:
        if self._head is None:
            row = self.session.exec(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).first()
            self._head = (row[0], row[1]) if row else (0, GENESIS)
        return self._head

    def append(
        self,
        *,
        actor: str,
        action: str,
        case_id: int | None = None,
        case_reference: str | None = None,
        detail: dict | None = None,
    ) -> AuditEvent:
        seq, prev_hash = self.head()
        entry = AuditEvent(
            seq=seq + 1,
            at=clock.now(),
            actor=actor,
            action=action,
            case_id=case_id,
            case_reference=case_reference,
            detail=plain(detail or {}),
            prev_hash=prev_hash,
            hash="",
        )
        entry.hash = entry_hash(entry)
        self.session.add(entry)
        self._head = (entry.seq, entry.hash)
        return entry
