"""Ping-pong: a case keeps bouncing between the same two agencies.

Fires on day `d` when, within `bounce_window_days` (90) up to `d` (day `d - 90` through `d`, both
ends counted), three or more handoffs between the same two agencies, in either direction, were
accepted or rejected. Every bounce is a day the person may have had nobody; the two agencies
need to agree, or escalate. Intakes (a handoff with no sender) are not bounces. The flag is about
that pair of agencies and resolves when the bounces fall out of the window.

- **Severity**: `medium`.
- **Tells**: both agencies.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import date, timedelta

from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns

DECIDED = frozenset({"accepted", "rejected"})
BOUNCES = 3


def _holds(days: list[date], on: date, window: timedelta) -> bool:
    return bisect_right(days, on) - bisect_left(days, on - window) >= BOUNCES


def _since(days: list[date], day: date, window: timedelta) -> date:
    """Return the first day of the unbroken run of days, ending on `day`, on which the rule held."""
    since = day
    while _holds(days, since - timedelta(days=1), window):
        since -= timedelta(days=1)
    return since


@rule("ping-pong", "The case bounces between two agencies", bounce_window_days=90)
def ping_pong(journey: Journey, context: Context, *, bounce_window_days: int):
    if len(journey.handoffs) < BOUNCES:
        return
    day, window = context.day, timedelta(days=bounce_window_days)
    pairs: dict[tuple[str, str], list] = defaultdict(list)
    for h in journey.handoffs:
        if h.status in DECIDED and h.from_agency and h.decided_on is not None:
            pairs[tuple(sorted((h.from_agency, h.to_agency)))].append(h)
    for (first, second), handoffs in sorted(pairs.items()):
        days = sorted(h.decided_on for h in handoffs)
        if not _holds(days, day, window):
            continue
        recent = [h for h in handoffs if day - window <= h.decided_on <= day]
        yield Found(
            subject=f"pair:{first}+{second}",
            severity="medium",
            since=_since(days, day, window),
            notify=(first, second),
            message=(
                f"The case has gone back and forth between {first} and {second} "
                f"{len(recent)} times in {bounce_window_days} days: agree who holds it."
            ),
            evidence={
                "agencies": [first, second],
                "handoffs": [
                    {"id": h.id, "from": h.from_agency, "to": h.to_agency, "status": h.status,
                     "decided_on": h.decided_on}
                    for h in sorted(recent, key=lambda h: (h.decided_on, h.id))
                ],
            },
        )


@turns(ping_pong)
def ping_pong_turns(journey: Journey, context: Context, *, bounce_window_days: int):
    """A decision leaves the 90-day window on its 91st day (the day it enters is the journey's)."""
    for h in journey.handoffs:
        if h.status in DECIDED and h.from_agency and h.decided_on is not None:
            yield h.decided_on + timedelta(days=bounce_window_days + 1)
