"""No accountable owner: on day `d` no agency holds custody or supervision of an open case.

This is the gap gapwatch exists to find. Providers delivering a service do not count: only a
custody (prison) or supervision (probation, youth service) ownership makes an agency answerable
for the person. The flag is about one gap, named by the day it began; it resolves as soon as an
accountable ownership is active again. An agency that has accepted the case from a later day (a
handoff due after `d`) is named in the message with that day: somebody is coming, but until then
nobody is accountable, so the flag stays.

- **Severity**: `high`; `critical` when the case's risk is `high` or `very_high`.
- **Tells**: the agencies that were last accountable, every one whose custody or supervision
  ended on that last day (a prison and an area can end together), and the person's home area.
  An ownership that started and ended on the same day (recorded in error) covered no day: it
  neither ends a gap nor counts as a last owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from gapwatch import clock
from gapwatch.journey import Journey, OwnershipFacts
from gapwatch.rules import Context, Found, rule, severe, turns

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OpenGap:
    """A gap open on a day: when it began, who was last accountable, and the home area.

    The one reading of a gap that the flag, the journey picture's lane for the agency expected
    to act and the exports share: the home area is the one expected to act.
    """

    since: date
    last: tuple[OwnershipFacts, ...]
    home_area: str | None

    @property
    def told(self) -> tuple[str, ...]:
        """Who the flag tells: the last accountable owners, then the home area."""
        return tuple(dict.fromkeys(a for a in (*(o.agency for o in self.last), self.home_area) if a))


def open_gap(journey: Journey, day: date) -> OpenGap | None:
    """Return the gap open at the end of `day` (None: somebody is accountable, or the case is
    not open)."""
    case = journey.case
    if not case.is_open_on(day) or journey.accountable_on(day):
        return None
    since = journey.gaps(case.opened_on, day + ONE_DAY)[-1].starts_on
    return OpenGap(since, tuple(journey.last_accountable(day)), case.home_area)


@rule("no-accountable-owner", "Nobody is accountable for the case")
def no_accountable_owner(journey: Journey, context: Context):
    gap = open_gap(journey, context.day)
    if gap is None:
        return
    case, since, last = journey.case, gap.since, gap.last
    coming = journey.taking_over(context.day)
    if not last:
        story = "no custody or supervision ownership has been recorded since the case opened"
    else:
        ended = " and ".join(f"{o.agency}'s {o.role}" for o in last)
        nobody = "nobody has taken over yet" if coming else "nobody took over"
        story = f"{ended} ended on {clock.long_day(last[0].ends_on)} and {nobody}"
    if coming:  # somebody is coming, on a later day: say who and when
        story += "; " + ", ".join(f"{h.to_agency} accepted {h.role} from "
                                  f"{clock.long_day(h.effective_on)}" for h in coming)
    yield Found(
        subject=f"gap:{since.isoformat()}",
        severity="critical" if severe(case.risk_level) else "high",
        since=since,
        notify=(*(o.agency for o in last), case.home_area),
        message=f"Nobody is accountable for this person since {clock.long_day(since)}: {story}.",
        evidence={
            "gap_starts_on": since,
            "last_owners": [{"agency": o.agency, "role": o.role} for o in last],
            "risk_level": case.risk_level,
        },
    )


@turns(no_accountable_owner)
def no_accountable_owner_turns(journey: Journey, context: Context):
    """Only the journey's own days (an ownership starting or ending) open or close a gap."""
    return ()
