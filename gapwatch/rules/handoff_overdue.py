"""Handoff overdue: a handoff is still `pending` after its due day.

The receiver had until `due_on` (often the release day) to take the case over and has neither
accepted nor rejected it, so the person may already be in the gap between the two agencies.
The flag is about that handoff and resolves when it is decided or withdrawn.

- **Severity**: `medium`; `high` from `overdue_high_days` (7) days overdue (`due_on + 7`).
- **Tells**: the sender and the receiver.
"""

from __future__ import annotations

from datetime import timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns


@rule("handoff-overdue", "A handoff is unanswered after its due day", overdue_high_days=7)
def handoff_overdue(journey: Journey, context: Context, *, overdue_high_days: int):
    day = context.day
    for handoff in journey.pending():
        if handoff.due_on is None or not handoff.due_on < day:
            continue
        overdue = (day - handoff.due_on).days
        sender = handoff.from_agency or "an intake"
        yield Found(
            subject=f"handoff:{handoff.id}",
            severity="high" if overdue >= overdue_high_days else "medium",
            since=handoff.due_on + timedelta(days=1),
            notify=(handoff.from_agency, handoff.to_agency),
            message=(
                f"The {handoff.kind} of {handoff.role} from {sender} to {handoff.to_agency} "
                f"was due on {clock.long_day(handoff.due_on)} and is still unanswered."
            ),
            evidence={
                "handoff": handoff.id,
                "requested_on": handoff.requested_on,
                "due_on": handoff.due_on,
            },
        )


@turns(handoff_overdue)
def handoff_overdue_turns(journey: Journey, context: Context, *, overdue_high_days: int):
    """A pending handoff is overdue the day after its due day, and high 7 days after it."""
    for handoff in journey.pending():
        if handoff.due_on is not None:
            yield handoff.due_on + timedelta(days=1)
            yield handoff.due_on + timedelta(days=overdue_high_days)
