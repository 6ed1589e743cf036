"""The audit trail: an append-only hash chain of who did what to which case, and when.

Each entry's hash covers its canonical content and the previous entry's hash, so changing,
removing or inserting an entry breaks the chain from that point on.

Two locks keep the chain one line without making readers wait for writers. A domain write
holds the writers' lock (`WRITE_LOCK_KEY`, see `operations.unit`) for its whole transaction;
its entries wait in memory, unchained, until it first writes them, and only then does it take
the chain's lock (`CHAIN_LOCK_KEY`) and read the head, keeping both until it commits. Recording
that someone read a case (`operations.record_read`) takes only the chain's lock, so
on PostgreSQL a case page never waits for a scan or an import to finish deciding, only for
another transaction's entries to commit. (SQLite has one writer at a time in any case.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlmodel import Session

from gapwatch import bulk, clock
from gapwatch.db import advisory_lock
from gapwatch.logs import REQUEST_ID
from gapwatch.models import AuditEvent
from gapwatch.stamp import Reach

GENESIS = "0" * 64
# Keys of the PostgreSQL advisory locks that serialize writers, and appends to the chain.
WRITE_LOCK_KEY = 0x6761707761  # "gapwa"
CHAIN_LOCK_KEY = 0x6761706368  # "gapch"
# A unit of work writes its waiting entries at a flush once this many are waiting (each kept
# as the text it will store and hash, about 600 bytes, so 30 MB): it bounds a very large
# import's memory, at the cost of holding the chain's lock from then until it commits. A first
# scan of 500,000 cases opens about 60,000 flags.
WAITING_ENTRIES = 50_000


def storable(value: Any) -> Any:
    """Return `bounded(plain(value))` in one pass: JSON-native data, long texts cut."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else bounded(value)
    if isinstance(value, dict):
        return {storable(k if isinstance(k, str) else str(k)): storable(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [storable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return storable(str(value))


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


# The longest text an entry keeps of any one value: the longest field (a flag's note) is 2,000
# characters, and the trail is kept for ever, so what anyone sends is cut before it is written.
MAX_TEXT = 2000


def bounded(value: Any) -> Any:
    """Return plain `value` with every text longer than MAX_TEXT cut, saying how long it was."""
    if isinstance(value, dict):
        return {bounded(k): bounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bounded(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{value[:MAX_TEXT]}… [cut: {len(value):,} characters]"
    return value


def canonical(entry: AuditEvent | Entry) -> bytes:
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


def entry_hash(entry: AuditEvent | Entry) -> str:
    """Return the SHA-256 of the entry's canonical content, as hex."""
    return hashlib.sha256(canonical(entry)).hexdigest()


# `canonical`'s serialisation, made once: `json.dumps` with options builds an encoder per call.
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_text = json.encoder.encode_basestring  # a string as that encoder writes it (not ASCII-only)


def _plain_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


# The same, for detail that `storable` would leave as it is but for its days and sets: one pass
# of the C encoder instead of a walk in Python first.
_json_of_plain = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                  default=_plain_default).encode


def _scalar(value: str | int | None) -> str:
    if value is None:
        return "null"
    return _text(value) if isinstance(value, str) else _json(value)


def canonical_head(at: datetime, actor: str, action: str, case_id: int | None,
                   case_reference: str | None, detail_text: str) -> str:
    """Return the start of an entry's canonical text, up to where `prev_hash` goes.

    `canonical` sorts its keys, so `prev_hash` and `seq`, known only when the entry is chained,
    come last: `head + prev_hash + '","seq":' + seq + '}'` is exactly `canonical(entry)`.
    """
    return (f'{{"action":{_scalar(action)},"actor":{_scalar(actor)},'
            f'"at":"{at.isoformat(timespec="microseconds")}","case_id":{_scalar(case_id)},'
            f'"case_reference":{_scalar(case_reference)},"detail":{detail_text},"prev_hash":"')


class Trail:
    """Holds one transaction's entries and chains them onto the trail when they are written.

    Each entry is serialised once, when it is recorded: its detail to the JSON text that is
    stored, and the rest of its canonical text around it (`canonical_head`), so chaining it
    only appends its predecessor's hash and its number and hashes those bytes.
    """

    def __init__(self, session: Session):
        self.session = session
        self._head: tuple[int, str] | None = None  # known once this transaction holds the lock
        self._pending: list[tuple] = []
        self.reach = Reach()  # whose pages the entries' changes may reach (`gapwatch.stamp`)

    def record(
        self,
        *,
        actor: str,
        action: str,
        case_id: int | None = None,
        case_reference: str | None = None,
        detail: dict | None = None,
    ) -> None:
        """Hold an entry, stamped now, for `write` to chain and insert with the others."""
        detail = detail or {}
        if (request_id := REQUEST_ID.get()) is not None and "request_id" not in detail:
            detail = {**detail, "request_id": request_id}  # hashed, like the rest
        try:
            text = _json_of_plain(detail)
        except (TypeError, ValueError):
            text = None  # keys that are not text: made plain first
        if text is None or len(text) > MAX_TEXT:  # a text may need cutting: walk it
            text = _json(storable(detail))
        at = clock.now()
        self.reach.note(action, case_id)
        self._pending.append((at, actor, action, case_id, case_reference, text,
                              canonical_head(at, actor, action, case_id, case_reference, text)))

    def spill(self) -> None:
        """Write the held entries if `WAITING_ENTRIES` or more wait (memory), else keep them."""
        if len(self._pending) >= WAITING_ENTRIES:
            self.write()

    def write(self) -> None:
        """Chain the held entries onto the head, under the chain's lock, and insert them."""
        if not self._pending:
            return
        if self._head is None:
            lock_chain(self.session)
            self._head = chain_head(self.session)
        seq, prev_hash = self._head
        entries, self._pending = self._pending, []
        rows = []
        sha256 = hashlib.sha256
        for at, actor, action, case_id, case_reference, text, head in entries:
            seq += 1
            digest = sha256(f'{head}{prev_hash}","seq":{seq}}}'.encode()).hexdigest()
            rows.append((seq, at, actor, action, case_id, case_reference, text, prev_hash,
                         digest))
            prev_hash = digest
        self._head = (seq, prev_hash)
        # The detail goes in as the very text its hash covers, not serialised a second time.
        bulk.insert_rows(self.session.connection(), AuditEvent.__table__, _ENTRY_NAMES, rows,
                         raw={"detail"})


_ENTRY_NAMES = ("seq", "at", "actor", "action", "case_id", "case_reference", "detail",
                "prev_hash", "hash")


def lock_chain(session: Session) -> None:
    """Take the chain's lock until this transaction ends."""
    advisory_lock(session, CHAIN_LOCK_KEY)


# -- verification -----------------------------------------------------------------------------
VERIFY_CHUNK = 5000
ENTRY_COLUMNS = (
    AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.case_id,
    AuditEvent.case_reference, AuditEvent.detail, AuditEvent.prev_hash, AuditEvent.hash,
)


@dataclass(frozen=True, slots=True)
class Entry:
    """An audit entry as read back for checking: the columns `canonical` covers, and its hash."""

    seq: int
    at: datetime
    actor: str
    action: str
    case_id: int | None
    case_reference: str | None
    detail: dict
    prev_hash: str
    hash: str

    @property
    def intact(self) -> bool:
        return entry_hash(self) == self.hash


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking the chain: `broken_seq` names the first bad entry, if any."""

    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None  # "changed", "removed" or "inserted"
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def stream_entries(session: Session, *, after: int = 0, chunk: int = VERIFY_CHUNK) -> Iterator[Entry]:
    """Yield the trail's entries in `seq` order, reading `chunk` at a time (flat memory)."""
    connection = session.connection()  # Core rows: the ORM's per-row cost would double the time
    while True:
        rows = connection.execute(
            select(*ENTRY_COLUMNS).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(chunk)
        ).all()
        for row in rows:
            yield Entry(*row)
        if len(rows) < chunk:
            return
        after = rows[-1][0]


def chain_head(session: Session | Connection) -> tuple[int, str]:
    """Return the (seq, hash) of the newest entry, or (0, GENESIS) for an empty trail."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def _diagnose(entry: Entry, expected_seq: int, prev_hash: str, before_prev: str | None,
              following: Entry | None) -> tuple[int, str, str]:
    """Name the first broken entry: (its seq, what happened to it, a sentence for people)."""
    if entry.seq != expected_seq:
        missing = (f"entry {expected_seq} is" if entry.seq == expected_seq + 1
                   else f"entries {expected_seq} to {entry.seq - 1} are")
        return expected_seq, "removed", f"{missing} missing: removed (the chain jumps to {entry.seq})"
    links = entry.prev_hash == prev_hash
    if following is not None and following.prev_hash == prev_hash and not (links and entry.intact):
        return entry.seq, "inserted", (
            f"entry {entry.seq} ({entry.action} by {entry.actor}) was inserted: "
            f"the entry after it links to entry {expected_seq - 1}")
    if not links and before_prev is not None and entry.prev_hash == before_prev:
        return expected_seq - 1, "inserted", (
            f"entry {expected_seq - 1} was inserted: entry {entry.seq} links past it")
    if not entry.intact:
        return entry.seq, "changed", (
            f"entry {entry.seq} ({entry.action} by {entry.actor}) was changed: "
            "its content no longer matches its hash")
    return expected_seq - 1, "changed", (
        f"entry {expected_seq - 1} was changed: entry {entry.seq} does not link to its hash")


def verify(session: Session, *, chunk: int = VERIFY_CHUNK,
           progress: Callable[[int], None] | None = None) -> Verdict:
    """Walk the whole chain in `seq` order and return its verdict, naming the first broken entry."""
    expected, prev_hash, before_prev, count = 1, GENESIS, None, 0
    entries = stream_entries(session, chunk=chunk)
    entry = next(entries, None)
    while entry is not None:
        following = next(entries, None)
        if entry.seq != expected or entry.prev_hash != prev_hash or not entry.intact:
            seq, problem, message = _diagnose(entry, expected, prev_hash, before_prev, following)
            return Verdict(count, expected - 1, prev_hash, seq, problem, message)
        count += 1
        if progress is not None and count % 100_000 == 0:
            progress(count)
        expected, before_prev, prev_hash = expected + 1, prev_hash, entry.hash
        entry = following
    return Verdict(count, expected - 1, prev_hash,
                   message=f"{count} entries, chain intact, head {expected - 1} {prev_hash}")
