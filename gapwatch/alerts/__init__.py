"""Daily gap-alert digests: written to the outbox once the scan's flags are in, sent over SMTP.

The interface the scan and the scheduler call:

- `write_digests(uow, day) -> int`: inside a unit of work, write one outbox row per agency
  with something to say on `day` (and one `escalation` row per agency with flags open too
  long); return how many rows were written or changed.
- `read_mails(session, day)` then `store_mails(uow, day, mails)`: the same in two steps, as
  the scan does once its flags are committed: the mails read from a snapshot of what it committed,
  without the writers' lock, then stored under it in a unit of work of their own.
- `write_auditors_digest(uow, day, path, checkpoint, config) -> int`: after the daily
  checkpoint, write the auditors' digest that carries it (`gapwatch.alerts.auditors`).
- `send_pending(session, config) -> int`: deliver the outbox rows that are due; return how
  many were sent.

docs/alerts.md explains the digest, the outbox, retries and the duplicate-versus-loss choice.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from datetime import date, datetime

from sqlmodel import Session

from gapwatch import clock
from gapwatch.alerts import delivery, outbox
from gapwatch.alerts.auditors import write_auditors_digest
from gapwatch.alerts.digest import Digest, gather
from gapwatch.alerts.render import Mail, digest_mail, escalation_mail
from gapwatch.alerts.settings import AlertSettings
from gapwatch.forecast import Looked
from gapwatch.operations import UnitOfWork

log = logging.getLogger(__name__)


def mails_for(digest: Digest, settings: AlertSettings) -> list[Mail]:
    """Return the emails of one agency's digest: the digest, and its escalation if any."""
    mails = []
    if digest.agency.alert_emails:
        mails.append(digest_mail(digest, settings.escalate_after_days))
    else:
        log.warning("%s has no alert address: its digest of %s is not sent",
                    digest.agency.code, digest.day)
    if digest.escalated and digest.escalation_emails:
        mails.append(escalation_mail(digest, settings.escalate_after_days))
    elif digest.escalated:
        log.warning("%s has flags to escalate but no escalation address", digest.agency.code)
    return mails


Mails = dict[tuple[int, str], Mail]  # by agency id and kind


def read_mails(session: Session, day: date, *, config: Mapping | None = None,
          looked: Looked | None = None) -> Mails:
    """Read the day's digests in the session's transaction (the scan's: a snapshot of what it
    committed, read with no lock held, `db.read_snapshot`); return them by agency and kind."""
    settings = AlertSettings.of(config)
    return {
        (digest.agency.id, mail.kind): mail
        for digest in gather(session, day, settings, looked)
        for mail in mails_for(digest, settings)
    }


def write_digests(uow: UnitOfWork, day: date, *, config: Mapping | None = None,
                  looked: Looked | None = None) -> int:
    """Write the day's digests to the outbox in `uow`'s transaction; return the rows changed.
    `looked`: what the scan of `day` noted of the days ahead of the cases it read."""
    return store_mails(uow, day, read_mails(uow.session, day, config=config, looked=looked))


def store_mails(uow: UnitOfWork, day: date, mails: Mails) -> int:
    """Write `mails` as the day's digests in `uow`'s transaction; return the rows changed."""
    changed = outbox.store(uow, day, mails)
    if changed:
        uow.trail.record(actor=uow.actor.name, action="alerts.written",
                         detail={"day": day, "emails": len(mails), "changed": changed})
    return changed


def send_pending(session: Session, config: Mapping | None = None, *,
                 now: datetime | None = None) -> int:
    """Send every outbox row that is due, one claimed row at a time; return how many were sent."""
    settings = AlertSettings.of(config)
    now = now or clock.now()
    tried: set[int] = set()
    sent = 0
    while (claim := outbox.claim_next(session, now, settings, tried)) is not None:
        tried.add(claim.id)
        try:
            refused = delivery.deliver(delivery.compose(claim, settings), settings)
        except (OSError, smtplib.SMTPException) as error:
            problem = f"{type(error).__name__}: {error}"
            retry_at = outbox.mark_failed(session, claim, max(now, clock.now()), problem, settings)
            what = ("the auditors' digest" if claim.agency == outbox.AUDITORS
                    else f"{claim.agency}'s {claim.kind}")
            log.warning("could not send %s of %s (%s); next attempt at %s",
                        what, claim.day, problem, retry_at.isoformat())
            continue
        outbox.mark_sent(session, claim, max(now, clock.now()), refused)
        sent += 1
    return sent


__all__ = ["read_mails", "send_pending", "store_mails", "write_auditors_digest", "write_digests"]
