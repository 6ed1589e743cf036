"""Dual ownership: two agencies both hold the same accountable role at once.

Fires on day `d` when two ownerships of different agencies in the same role, custody or
supervision, are both active on `d` and have overlapped for at least `overlap_days` (7) days,
counting the first shared day and `d` itself (two ownerships that both began on day `s` fire from
`s + 6`). Each agency may think the other is in charge, which is its own kind of gap. The flag is
about that pair of ownerships and resolves when one of them ends.

- **Severity**: `medium`.
- **Tells**: both agencies.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns


@rule("dual-ownership", "Two agencies hold the same role at once", overlap_days=7)
def dual_ownership(journey: Journey, context: Context, *, overlap_days: int):
    day = context.day
    active = journey.accountable_on(day)
    if len(active) < 2:
        return
    for first, second in combinations(sorted(active, key=lambda o: o.id), 2):
        if first.role != second.role or first.agency == second.agency:
            continue
        shared_from = max(first.starts_on, second.starts_on)
        shared_days = (day - shared_from).days + 1
        if shared_days < overlap_days:
            continue
        yield Found(
            subject=f"{first.role}:{first.id}+{second.id}",
            severity="medium",
            since=shared_from + timedelta(days=overlap_days - 1),
            notify=(first.agency, second.agency),
            message=(
                f"{first.agency} and {second.agency} have both held {first.role} since "
                f"{clock.long_day(shared_from)}: agree who is responsible."
            ),
            evidence={
                "role": first.role,
                "ownerships": [first.id, second.id],
                "agencies": [first.agency, second.agency],
                "shared_from": shared_from,
            },
        )


@turns(dual_ownership)
def dual_ownership_turns(journey: Journey, context: Context, *, overlap_days: int):
    """Two ownerships of one role begin to count as dual on their overlap's 7th day."""
    held = [o for o in journey.ownerships if o.accountable]
    for first, second in combinations(held, 2):
        if first.role == second.role and first.agency != second.agency:
            yield max(first.starts_on, second.starts_on) + timedelta(days=overlap_days - 1)
