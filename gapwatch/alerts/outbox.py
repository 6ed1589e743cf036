"""The outbox: digests written with the scan's flags, claimed by a sender, marked sent or failed.

A row is keyed by (agency, day, kind); the auditors' digest is addressed to no agency and keyed
by (day, kind), so its agency reads `AUDITORS`. Writing the same day again updates a pending row and never
touches a sent one. A sender claims one due row at a time in its own short transaction (under the
writers' lock, and `FOR UPDATE SKIP LOCKED` on PostgreSQL), commits the claim, and only then talks
to the SMTP server; a claim older than `claim_timeout` is taken to be a crashed sender's and may be
claimed again. Rows are marked sent only after the server accepted the message, so a crash in
between sends the digest again, with the same Message-ID (the trade-off is in docs/alerts.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.alerts.render import Mail
from gapwatch.alerts.settings import AlertSettings
from gapwatch.db import is_sqlite
from gapwatch.errors import Conflict, NotFound
from gapwatch.models import Agency, OutboxMessage

log = logging.getLogger(__name__)

PENDING, SENT = "pending", "sent"
AGENCY_KINDS = ("digest", "escalation")  # the kinds written per agency by the scan's digests
AUDITORS = "auditors"  # how the rows addressed to no agency name who they are for
# Its units that claim, send and fail a message change no page a worker keeps, so they leave
# the stamps alone (`renews_stamp=False`, `gapwatch.stamp`): else the morning's sending of every
# agency's digest would have every dashboard rendered again, once per message.
SENDER = ops.Actor.system("alerts")


@dataclass(frozen=True)
class Claim:
    """A row a sender holds: what it needs to send it, read before the claim committed."""

    id: int
    agency: str
    day: date
    kind: str
    recipients: list[str]
    subject: str
    text: str
    html: str
    message_id: str
    claimed_at: datetime
    attempts: int


def store(uow: ops.UnitOfWork, day: date, mails: dict[tuple[int | None, str], Mail], *,
          kinds: tuple[str, ...] = AGENCY_KINDS) -> int:
    """Write `mails` (by agency id and kind) as the day's outbox rows of `kinds`; return how many
    rows changed.

    A pending row is brought up to date, a sent row is left as it went out, and a pending row
    of `kinds` with nothing left to say is dropped. A row a sender has claimed is left alone
    too: it may be on its way, and a repeat after a crash must be the same email.
    """
    existing = {
        (row.agency_id, row.kind): row
        for row in uow.session.execute(select(OutboxMessage).where(
            OutboxMessage.day == day, OutboxMessage.kind.in_(kinds))).scalars()
    }
    changed = 0
    for key, mail in mails.items():
        row = existing.get(key)
        if row is None:
            uow.session.add(OutboxMessage(
                id=uow.new_id(OutboxMessage), agency_id=key[0], day=day, kind=mail.kind,
                recipients=mail.recipients, subject=mail.subject, body_text=mail.text,
                body_html=mail.html, status=PENDING, created_at=clock.now(),
            ))
            changed += 1
        elif _rewritable(row) and _differs(row, mail):
            row.recipients, row.subject = mail.recipients, mail.subject
            row.body_text, row.body_html = mail.text, mail.html
            changed += 1
    for key, row in existing.items():
        if key not in mails and _rewritable(row):
            uow.session.delete(row)
            changed += 1
    return changed


def _rewritable(row: OutboxMessage) -> bool:
    return row.status == PENDING and row.claimed_at is None


def _differs(row: OutboxMessage, mail: Mail) -> bool:
    return (row.recipients, row.subject, row.body_text, row.body_html) != (
        mail.recipients, mail.subject, mail.text, mail.html)


def _due(now: datetime, settings: AlertSettings):
    stale = now - timedelta(seconds=settings.claim_timeout)
    return (
        OutboxMessage.status == PENDING,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < stale),
    )


def claim_next(session: Session, now: datetime, settings: AlertSettings,
               skip: set[int]) -> Claim | None:
    """Claim the next due row and commit the claim, or return None when nothing is due."""
    with ops.unit_of_work(session, SENDER, renews_stamp=False):
        query = (
            select(OutboxMessage, Agency.code)
            .outerjoin(Agency, Agency.id == OutboxMessage.agency_id)
            .where(*_due(now, settings))
            .order_by(OutboxMessage.day, OutboxMessage.id)
            .limit(1)
        )
        if skip:
            query = query.where(OutboxMessage.id.not_in(skip))
        if not is_sqlite(session):
            query = query.with_for_update(of=OutboxMessage, skip_locked=True)
        found = session.execute(query).first()
        if found is None:
            return None
        row, agency = found[0], found[1] or AUDITORS
        row.claimed_at = now
        # Made before the first attempt and kept: a repeat after a crash has the same Message-ID.
        row.message_id = row.message_id or make_msgid(domain=_domain(settings.mail_from))
        return Claim(row.id, agency, row.day, row.kind, list(row.recipients), row.subject,
                     row.body_text, row.body_html, row.message_id, now, row.attempts)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip(">") or "localhost"


def mark_sent(session: Session, claim: Claim, now: datetime, refused: dict | None = None) -> bool:
    """Record that the server accepted `claim`; False if another sender had taken it over."""
    with ops.unit_of_work(session, SENDER, renews_stamp=False) as uow:
        done = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.status == PENDING,
                   OutboxMessage.claimed_at == claim.claimed_at)
            .values(status=SENT, sent_at=now, attempts=OutboxMessage.attempts + 1,
                    last_error=None)
        ).rowcount
        _audit(uow, "alerts.sent", claim, message_id=claim.message_id,
               recipients=claim.recipients, refused=sorted(refused or {}), taken_over=not done)
    if not done:
        log.warning("outbox row %s was sent, but another sender had taken it over", claim.id)
    return bool(done)


def mark_failed(session: Session, claim: Claim, now: datetime, error: str,
                settings: AlertSettings) -> datetime:
    """Keep `claim` pending with the error, and schedule its next attempt; return when."""
    attempts = claim.attempts + 1
    retry_at = now + timedelta(seconds=settings.retry_delay(attempts))
    with ops.unit_of_work(session, SENDER, renews_stamp=False) as uow:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.status == PENDING,
                   OutboxMessage.claimed_at == claim.claimed_at)
            .values(attempts=attempts, last_error=error[:2000], next_attempt_at=retry_at,
                    claimed_at=None)
        )
        _audit(uow, "alerts.failed", claim, error=error[:500], attempts=attempts,
               next_attempt_at=retry_at)
    return retry_at


def _audit(uow: ops.UnitOfWork, action: str, claim: Claim, **detail) -> None:
    uow.trail.record(actor=uow.actor.name, action=action, detail={
        "outbox_id": claim.id, "agency": claim.agency, "day": claim.day, "kind": claim.kind,
        **detail,
    })


def resend(uow: ops.UnitOfWork, *, message: int) -> OutboxMessage:
    """Make the outbox row `message` due now: a failing row is retried, a sent one sent again."""
    uow.require_agency(None, "resend alert emails")
    row = uow.session.get(OutboxMessage, message)
    if row is None:
        raise NotFound(f"there is no outbox message {message}", field="message")
    fresh = clock.now() - timedelta(seconds=AlertSettings.of().claim_timeout)
    if row.status == PENDING and row.claimed_at is not None and row.claimed_at > fresh:
        raise Conflict(f"outbox message {message} is being sent right now; try again in a few "
                       "minutes", field="message")
    was = row.status
    row.status, row.next_attempt_at, row.claimed_at, row.last_error = PENDING, None, None, None
    if was == SENT:
        row.message_id, row.sent_at = None, None  # a new email, with a Message-ID of its own
    agency = uow.agency_by_id(row.agency_id)
    uow.trail.record(actor=uow.actor.name, action="alerts.resend", detail={
        "outbox_id": row.id, "agency": agency.code if agency else AUDITORS, "day": row.day,
        "kind": row.kind, "was": was,
    })
    return row


def listing(session: Session, *, sent_limit: int = 100) -> dict[str, list[tuple[OutboxMessage, str]]]:
    """Return the outbox for the admin page: failing, pending, and the latest sent rows."""
    base = select(OutboxMessage, func.coalesce(Agency.code, AUDITORS)).outerjoin(
        Agency, Agency.id == OutboxMessage.agency_id)
    waiting = session.execute(
        base.where(OutboxMessage.status == PENDING).order_by(OutboxMessage.day, Agency.code)
    ).all()
    sent = session.execute(
        base.where(OutboxMessage.status == SENT)
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc()).limit(sent_limit)
    ).all()
    return {
        "failing": [r for r in waiting if r[0].last_error],
        "pending": [r for r in waiting if not r[0].last_error],
        "sent": sent,
    }
