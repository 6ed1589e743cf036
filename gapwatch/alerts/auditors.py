"""The auditors' daily digest: the audit trail's latest signed checkpoint, mailed to its keepers.

A checkpoint (`gapwatch.checkpoint`) is only worth something where the database's own operators
cannot reach it. The file in CHECKPOINT_DIR is one copy; this email is the other: it lands in
the auditors' mailboxes, and an auditor who keeps it can later prove the trail was not cut
short or rebuilt since. It goes to every active auditor account's email and to the addresses of
the `AUDITOR_EMAILS` setting (an inspectorate's mailbox with no account, say), through the
outbox like the agencies' digests: one row a day, addressed to no agency (kind `auditors`),
retried until the server takes it, never sent twice. It names no person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from sqlalchemy import select

from gapwatch import checkpoint
from gapwatch.alerts import outbox
from gapwatch.alerts.render import Mail, render
from gapwatch.models import User, UserRole
from gapwatch.operations import UnitOfWork

log = logging.getLogger(__name__)

KIND = "auditors"


def configured(config: Mapping) -> list[str]:
    """Return the addresses of the AUDITOR_EMAILS setting (a list, or a string of them)."""
    value = config.get("AUDITOR_EMAILS") or []
    if isinstance(value, str):
        value = value.split(",")
    return [address.strip() for address in value if str(address).strip()]


def recipients(session, config: Mapping) -> list[str]:
    """Return who receives the auditors' digest: active auditors' accounts and AUDITOR_EMAILS."""
    accounts = session.execute(
        select(User.email).where(User.role == UserRole.auditor, User.active)
    ).scalars()
    return sorted({*accounts, *configured(config)}, key=str.lower)


def auditors_mail(made: checkpoint.Checkpoint, public_pem: str, day: date,
                  to: list[str]) -> Mail:
    """Return the email that carries checkpoint `made`, its public key and how to check it."""
    key = checkpoint.load_public_pem(public_pem.encode())
    context = {
        "day": day, "made": made, "public_pem": public_pem.strip(),
        "fingerprint": checkpoint.fingerprint(key),
        "as_file": json.dumps(made.as_json(), indent=2),
    }
    return Mail(
        kind=KIND,
        recipients=to,
        subject=(f"gapwatch audit checkpoint {day.isoformat()}: {made.entries:,} entries, "
                 f"head {made.head[:16]}, key {made.key_id}"),
        text=render("auditors.txt", **context),
        html=render("auditors.html", **context),
    )


def write_auditors_digest(uow: UnitOfWork, day: date, path: Path, made: checkpoint.Checkpoint,
                          config: Mapping) -> int:
    """Write `day`'s auditors' digest, carrying the checkpoint written at `path`, to the outbox
    in `uow`'s transaction; return the rows written or changed (0 once it is on its way)."""
    to = recipients(uow.session, config)
    if not to:
        log.warning("nobody to send the auditors' digest of %s to: no active auditor account "
                    "and no AUDITOR_EMAILS", day)
        return 0
    public_pem = (path.parent / checkpoint.PUBLIC_KEY_FILE).read_text()
    mail = auditors_mail(made, public_pem, day, to)
    changed = outbox.store(uow, day, {(None, KIND): mail}, kinds=(KIND,))
    if changed:
        uow.trail.record(actor=uow.actor.name, action="alerts.written", detail={
            "day": day, "kind": KIND, "emails": 1, "changed": changed,
            "checkpoint": path.name, "entries": made.entries, "head": made.head,
        })
    return changed
