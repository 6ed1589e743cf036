"""Daily gap-alert digests: written to the outbox with the scan's flags, sent over SMTP.

The interface the scan and the scheduler call (issue 5 builds what is behind it):

- `write_digests(uow, day) -> int`: inside the scan's unit of work, write one outbox row per
  agency with something to say on `day`; return how many were written.
- `send_pending(session, config) -> int`: deliver the outbox rows that are due; return how
  many were sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlmodel import Session

from gapwatch.operations import UnitOfWork


def write_digests(uow: UnitOfWork, day: date) -> int:
    """Write the day's digests to the outbox (not built yet: writes none)."""
    return 0


def send_pending(session: Session, config: Mapping) -> int:
    """Send the digests that are due (not built yet: sends none)."""
    return 0
