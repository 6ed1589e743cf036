"""Release unplanned: a release is near and no agency has been asked to supervise afterwards.

Fires on day `d` while a custody ownership is active, the case's `expected_release_on` is within
`release_window_days` (28) of `d` (day `d` through `d + 28`, both ends counted), and no handoff in
role `supervision` that is `pending` or `accepted` was requested since that custody began. A
rejected or withdrawn request does not count: somebody still has to be asked. The flag is about
that custody ownership and resolves once a supervision handoff is requested (or the release day
has passed, when `no-accountable-owner` or `handoff-overdue` takes over).

- **Severity**: `high`.
- **Tells**: the prison and the person's home area.
"""

from __future__ import annotations

from datetime import timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns

PLANNED = frozenset({"pending", "accepted"})


@rule("release-unplanned", "A release is near with no supervision planned", release_window_days=28)
def release_unplanned(journey: Journey, context: Context, *, release_window_days: int):
    day, case = context.day, journey.case
    release = case.expected_release_on
    if release is None or not day <= release <= day + timedelta(days=release_window_days):
        return
    for custody in journey.active_on(day, roles=frozenset({"custody"})):
        if any(
            h.role == "supervision" and h.status in PLANNED and h.requested_on >= custody.starts_on
            for h in journey.handoffs
        ):
            continue
        since = max(custody.starts_on, case.opened_on, release - timedelta(days=release_window_days))
        yield Found(
            subject=f"custody:{custody.id}",
            severity="high",
            since=since,
            notify=(custody.agency, case.home_area),
            message=(
                f"Release from {custody.agency} is expected on {clock.long_day(release)} and no agency has "
                f"been asked to supervise after release."
            ),
            evidence={
                "custody_ownership": custody.id,
                "expected_release_on": release,
                "home_area": case.home_area,
            },
        )


@turns(release_unplanned)
def release_unplanned_turns(journey: Journey, context: Context, *, release_window_days: int):
    """The window opens 28 days before the expected release and closes the day after it."""
    release = journey.case.expected_release_on
    if release is not None:
        yield release - timedelta(days=release_window_days)
        yield release + timedelta(days=1)
