"""Signed checkpoints of the audit trail: its head, taken out of the database.

The hash chain shows any entry changed, removed or inserted *within* the trail, but not a
trail cut short, emptied, or rebuilt from some entry on: what is left is still a valid chain.
A checkpoint closes that gap as Certificate Transparency's signed tree head does (RFC 9162):
an Ed25519 signature over the number of entries and the hash of the last one, made with a key
kept outside the database, and written to a directory auditors copy and keep.

A trail is consistent with a checkpoint when it holds at least the checkpoint's entries and its
entry number `entries` has the checkpoint's head hash: since every entry's hash covers the one
before, that one hash vouches for every entry up to it. Two checkpoints are consistent with
each other when the older one's head appears at its count in the chain that leads to the newer
one's (`verify_all` checks every checkpoint it is given against the one trail).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select
from sqlmodel import Session

from gapwatch import audit, clock, db
from gapwatch.config import create_secret_file
from gapwatch.models import AuditEvent

FORMAT = "gapwatch-audit-checkpoint/1"
PUBLIC_KEY_FILE = "public_key.pem"


class CheckpointError(Exception):
    """A checkpoint that cannot be made, read or trusted; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    entries: int
    head: str
    made_at: str
    key_id: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """Return what the signature covers: the format, count, head, time and key."""
        return json.dumps({"format": FORMAT, "entries": self.entries, "head": self.head,
                           "made_at": self.made_at, "key_id": self.key_id},
                          sort_keys=True, separators=(",", ":")).encode()

    def as_json(self) -> dict:
        return {"format": FORMAT, "entries": self.entries, "head": self.head,
                "made_at": self.made_at, "key_id": self.key_id, "signature": self.signature}

    def describe(self) -> str:
        return f"the checkpoint of {self.made_at} ({self.entries} entries, head {self.head[:16]}…)"


# -- the key -----------------------------------------------------------------------------------
def key_path(config) -> Path:
    return Path(config["AUDIT_KEY_FILE"])  # set by gapwatch.config (instance/ by default)


def directory(config) -> Path:
    return Path(config["CHECKPOINT_DIR"])


def create_key(path: Path) -> Ed25519PrivateKey:
    """Make a new signing key at `path` (never over an existing file), readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        create_secret_file(path, pem)
    except FileExistsError:
        raise CheckpointError(f"{path} exists already: a signing key is never overwritten") from None
    return key


def signing_key(config) -> Ed25519PrivateKey:
    """Return the signing key; in development make one if there is none, in production refuse."""
    path = key_path(config)
    if not path.exists():
        if config.get("ENV") == "production":
            raise CheckpointError(f"no audit signing key at {path} (GAPWATCH_AUDIT_KEY_FILE)")
        return create_key(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path} is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """Return the SHA-256 of the raw 32-byte public key, in hex: what auditors note and compare."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def key_id(key: Ed25519PublicKey) -> str:
    return fingerprint(key)[:16]


def load_public_key_of(path: Path) -> Ed25519PublicKey:
    """Return the public half of the signing key at `path`."""
    return signing_key({"AUDIT_KEY_FILE": str(path), "ENV": "production"}).public_key()


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        return load_public_pem(path.read_bytes())
    except OSError as error:
        raise CheckpointError(f"{path}: not a readable PEM public key ({error})") from None
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as error:
        raise CheckpointError(f"not a readable PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("not an Ed25519 public key")
    return key


# -- making and reading ------------------------------------------------------------------------
def make(session: Session, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the trail's head as it stands now."""
    entries, head = audit.chain_head(session)
    unsigned = Checkpoint(entries, head, clock.now().isoformat(timespec="seconds"),
                          key_id(key.public_key()))
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode()
    return Checkpoint(entries, head, unsigned.made_at, unsigned.key_id, signature)


def write(folder: Path, checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> Path:
    """Write the checkpoint as a new file of `folder`, beside the public key that checks it."""
    folder.mkdir(parents=True, exist_ok=True)
    public = folder / PUBLIC_KEY_FILE
    if not public.exists():
        public.write_bytes(public_pem(public_key))
    stamp = datetime.fromisoformat(checkpoint.made_at).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"checkpoint-{stamp}-{checkpoint.entries:012d}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "w") as file:
        json.dump(checkpoint.as_json(), file, indent=2)
        file.write("\n")
    return path


def publish(engine: Engine, config) -> tuple[Path, Checkpoint]:
    """Sign the head, write its file, and note in the trail that it was made (the daily job's)."""
    from gapwatch import operations as ops

    key = signing_key(config)
    session = db.new_session(engine)
    try:
        made = make(session, key)
        session.rollback()
        path = write(directory(config), made, key.public_key())
        ops.record_read(session, ops.Actor.system("checkpoint"), "audit.checkpoint",
                        entries=made.entries, head=made.head, key_id=made.key_id, file=path.name)
    finally:
        session.close()
    return path, made


def read(path: Path) -> Checkpoint:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gapwatch checkpoint (format {FORMAT})")
    try:
        found = Checkpoint(int(data["entries"]), str(data["head"]), str(data["made_at"]),
                           str(data["key_id"]), str(data["signature"]))
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: a checkpoint needs entries, head, made_at, key_id "
                              "and signature") from None
    if found.entries < 0:
        raise CheckpointError(f"{path}: a negative number of entries")
    return found


def found_in(folder: Path) -> list[Path]:
    """Return the checkpoint files of `folder`, oldest first (by their names' time)."""
    return sorted(folder.glob("checkpoint-*.json")) if folder.is_dir() else []


# -- checking ----------------------------------------------------------------------------------
def check_signature(checkpoint: Checkpoint, public_key: Ed25519PublicKey, where: Path) -> None:
    if checkpoint.key_id != key_id(public_key):
        raise CheckpointError(f"{where}: signed by key {checkpoint.key_id}, not by the key given "
                              f"({key_id(public_key)})")
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        raise CheckpointError(f"{where}: the signature does not match its content: the file "
                              "was changed or forged") from None


def against_trail(session: Session, checkpoint: Checkpoint, verdict: audit.Verdict) -> str | None:
    """Say how the trail departs from the checkpoint, or None if the trail still holds it."""
    if verdict.entries < checkpoint.entries:
        return (f"the trail holds {verdict.entries} entries, but {checkpoint.describe()} saw "
                f"{checkpoint.entries}: entries {verdict.entries + 1} to {checkpoint.entries} "
                "were cut off its end")
    if checkpoint.entries == 0:
        return None if checkpoint.head == audit.GENESIS else f"{checkpoint.describe()} is malformed"
    held = session.execute(
        select(AuditEvent.hash).where(AuditEvent.seq == checkpoint.entries)
    ).scalar_one_or_none()
    if held != checkpoint.head:
        return (f"entry {checkpoint.entries} is not the one {checkpoint.describe()} signed: the "
                f"chain was rebuilt from entry {checkpoint.entries} or an earlier one")
    return None


def latest_departure(session: Session, config, verdict: audit.Verdict) -> tuple[str, str]:
    """For the auditors' page: ("none" | "held" | "departs", a sentence) about the latest
    checkpoint of CHECKPOINT_DIR, checked with the public key beside it."""
    paths = found_in(directory(config))
    if not paths:
        return "none", (f"No signed checkpoint in {directory(config)}: a cut tail or a rebuilt "
                        "chain would not show. Run `gapwatch audit checkpoint` (the scheduler "
                        "makes one daily).")
    try:
        latest = read(paths[-1])
        check_signature(latest, load_public_key(paths[-1].parent / PUBLIC_KEY_FILE), paths[-1])
    except CheckpointError as error:
        return "departs", str(error)
    departs = against_trail(session, latest, verdict)
    if departs:
        return "departs", departs
    return "held", f"The trail still holds {latest.describe()}, signed by key {latest.key_id}."


@dataclass(frozen=True)
class Report:
    checked: list[tuple[Path, Checkpoint]]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_all(session: Session, verdict: audit.Verdict, paths: list[Path],
               public_key: Ed25519PublicKey) -> Report:
    """Check each checkpoint's signature, then the trail against it, and the checkpoints against
    each other: a later checkpoint never counts fewer entries than an earlier one."""
    checked, problems = [], []
    for path in paths:
        try:
            checkpoint = read(path)
            check_signature(checkpoint, public_key, path)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        departs = against_trail(session, checkpoint, verdict)
        if departs:
            problems.append(f"{path.name}: {departs}")
        checked.append((path, checkpoint))
    by_time = sorted(checked, key=lambda pair: pair[1].made_at)
    for (older_path, older), (newer_path, newer) in zip(by_time, by_time[1:], strict=False):
        if newer.entries < older.entries or (newer.entries == older.entries
                                             and newer.head != older.head):
            problems.append(f"{newer_path.name} is inconsistent with the older {older_path.name}: "
                            "a trail only grows")
    return Report(checked, problems)
