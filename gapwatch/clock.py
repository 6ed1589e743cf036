"""What day and time it is, in the zone the agencies work in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/London")


def now() -> datetime:
    """Return the current time in UTC, as the database stores it."""
    return datetime.now(UTC)


def today() -> date:
    """Return today's date in Europe/London."""
    return datetime.now(ZONE).date()
