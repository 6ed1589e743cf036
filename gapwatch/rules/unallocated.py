"""Unallocated: an agency is accountable for the case but has never named an officer.

Fires on day `d` for each custody or supervision ownership active on `d` that has had no officer
since it started and started at least `allocation_days` (5) days before `d` (so an ownership that
started on `d - 5` counts, one that started on `d - 4` does not yet). On paper someone is
responsible; in practice nobody is. The flag is about that ownership and resolves when an officer
is assigned.

- **Severity**: `medium`; `high` when the case's risk is `high` or `very_high`.
- **Tells**: that agency.
"""

from __future__ import annotations

from datetime import timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, severe, turns


@rule("unallocated", "No officer has been allocated", allocation_days=5)
def unallocated(journey: Journey, context: Context, *, allocation_days: int):
    day, case = context.day, journey.case
    latest_start = day - timedelta(days=allocation_days)
    for ownership in journey.accountable_on(day):
        if ownership.officer or ownership.allocated_on is not None:
            continue
        if ownership.starts_on > latest_start:
            continue
        yield Found(
            subject=f"ownership:{ownership.id}",
            severity="high" if severe(case.risk_level) else "medium",
            since=ownership.starts_on + timedelta(days=allocation_days),
            notify=(ownership.agency,),
            message=(
                f"{ownership.agency} has held {ownership.role} since {clock.long_day(ownership.starts_on)} "
                f"and has not named an officer."
            ),
            evidence={
                "ownership": ownership.id,
                "role": ownership.role,
                "starts_on": ownership.starts_on,
                "risk_level": case.risk_level,
            },
        )


@turns(unallocated)
def unallocated_turns(journey: Journey, context: Context, *, allocation_days: int):
    """An ownership with no officer counts as unallocated from its 5th day."""
    for ownership in journey.ownerships:
        if ownership.accountable and not ownership.officer and ownership.allocated_on is None:
            yield ownership.starts_on + timedelta(days=allocation_days)
