"""What day and time it is, in the zone the agencies work in, and which days gapwatch accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gapwatch.errors import InvalidInput

ZONE = ZoneInfo("Europe/London")
# Every day that enters (import, API, forms, query strings, the command line) lies between
# these: a date of birth in 1900 is possible, a due day in 9999 is a typing slip, and one so
# far off overflows the timeline's and the filters' day arithmetic.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
# The largest whole number a query string or field may carry (a 63-bit database integer).
LARGEST = 2**63 - 1


def now() -> datetime:
    """Return the current time in UTC, as the database stores it."""
    return datetime.now(UTC)


def today() -> date:
    """Return today's date in Europe/London."""
    return datetime.now(ZONE).date()


NOT_A_DAY = "is not a date (YYYY-MM-DD)"
OUTSIDE = f"is outside the days gapwatch accepts ({EARLIEST.isoformat()} to {LATEST.isoformat()})"


class DayRefused(InvalidInput):
    """A day that does not parse or lies outside EARLIEST..LATEST; `why` says which."""

    def __init__(self, field: str, given, why: str):
        super().__init__(f"{field}: {given!r} {why}", field=field)
        self.why = why


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def long_day(day: date | None) -> str:
    """Say a day as people in England read it: "25 November 2026" (the GOV.UK style)."""
    return "" if day is None else f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def short_day(day: date | None) -> str:
    """Say a day where space is short: "25 Nov 2026"."""
    return "" if day is None else f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def example_day() -> str:
    """A day to give as an example of typing one into three boxes: two weeks from today, as a
    due day would be ("21 12 2026"), never a day already past."""
    day = today() + timedelta(days=14)
    return f"{day.day} {day.month} {day.year}"


def check_day(day: date, field: str = "date") -> date:
    """Return `day` if it lies within EARLIEST..LATEST; refuse it, naming `field`, otherwise."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise DayRefused(field, day, NOT_A_DAY)
    if not EARLIEST <= day <= LATEST:
        raise DayRefused(field, day.isoformat(), OUTSIDE)
    return day


def parse_day(text: str, field: str = "date") -> date:
    """Read a YYYY-MM-DD day within EARLIEST..LATEST, or refuse it naming `field`."""
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or len(value) != 10:
        raise DayRefused(field, text, NOT_A_DAY)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise DayRefused(field, text, NOT_A_DAY) from None
    return check_day(day, field)


def parse_count(text: str, field: str, *, low: int = 0, high: int = LARGEST) -> int:
    """Read a whole number within low..high, or refuse it naming `field`."""
    value = text.strip() if isinstance(text, str) else ""
    if not value.isascii() or not value.isdigit() or len(value) > 19 or not low <= int(value) <= high:
        raise InvalidInput(f"{field}: {text!r} is not a whole number from {low} to {high}",
                           field=field)
    return int(value)
