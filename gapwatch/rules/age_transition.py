"""Age transition: a young person nears 18 under a youth service with no adult service lined up.

Fires on day `d` while a `youth` agency holds supervision, the person's 18th birthday is within
`age_window_days` (90) of `d` (on or before `d + 90`) or has already passed, and no `pending` or
`accepted` supervision handoff to a non-youth agency exists. This is the "arbitrary birthday" of
the seed: the youth service's duty ends and adult probation must be ready. A person born on
29 February turns 18 on 1 March in a year that has no 29 February.

- **Severity**: `medium`; `high` once the person is 18.
- **Tells**: the youth agency and the person's home area.
"""

from __future__ import annotations

from datetime import date, timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns

PLANNED = frozenset({"pending", "accepted"})


def eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + 18)
    except ValueError:  # 29 February in a year without one
        return date(born.year + 18, 3, 1)


@rule("age-transition", "A young person turns 18 with no adult service lined up", age_window_days=90)
def age_transition(journey: Journey, context: Context, *, age_window_days: int):
    day, case = context.day, journey.case
    adult_on = eighteenth_birthday(case.date_of_birth)
    window = timedelta(days=age_window_days)
    if adult_on > day + window:
        return
    if any(
        h.role == "supervision" and h.status in PLANNED and h.to_agency_kind != "youth"
        for h in journey.handoffs
    ):
        return
    for youth in journey.active_on(day, roles=frozenset({"supervision"})):
        if youth.agency_kind != "youth":
            continue
        adult = day >= adult_on
        when = f"turned 18 on {clock.long_day(adult_on)}" if adult else f"turns 18 on {clock.long_day(adult_on)}"
        if case.restricted:
            # A flag's message reaches every agency it tells, and a restricted person's date
            # of birth is only for those who may open their details: no day in the text.
            when = "is 18 or over" if adult else f"turns 18 within {age_window_days} days"
        yield Found(
            subject=f"supervision:{youth.id}",
            severity="high" if adult else "medium",
            since=max(youth.starts_on, case.opened_on, adult_on - window),
            notify=(youth.agency, case.home_area),
            message=(
                f"The person {when}, is supervised by {youth.agency}, and no adult probation "
                f"service has been asked to take over."
            ),
            evidence={
                "youth_ownership": youth.id,
                "eighteenth_birthday": adult_on,
            },
        )


@turns(age_transition)
def age_transition_turns(journey: Journey, context: Context, *, age_window_days: int):
    """The window opens 90 days before the 18th birthday; on the birthday, the flag turns high."""
    adult_on = eighteenth_birthday(journey.case.date_of_birth)
    return (adult_on - timedelta(days=age_window_days), adult_on)
