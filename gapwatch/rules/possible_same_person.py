"""Possible same person: the person of this case may also be recorded under another reference.

`gapwatch link` compares every person record with the others (Splink: names, date of birth,
identifiers, home area) and proposes the pairs it scores above its threshold. While a proposal
is open, each side's cases carry this flag: until someone who holds the case confirms or rejects
it on the review page, the two records may be hiding a gap or a second owner between them. The
flag is about one proposal and resolves when it is decided, or when a later run lets it lapse.
The message names the other record by reference only, never by name, and a restricted
person's record not even by reference (the proposal's number instead), so that a restricted
person's details do not travel in it.

- **Severity**: `medium`: a proposal is a question to answer, not yet a gap.
- **Tells**: the agencies accountable for the case today, and the person's home area.
"""

from __future__ import annotations

from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns


@rule("possible-same-person", "The person may be recorded twice")
def possible_same_person(journey: Journey, context: Context):
    owners = tuple(o.agency for o in journey.accountable_on(context.day))
    for twin in journey.case.twins:
        yield Found(
            subject=f"proposal:{twin.proposal}",
            severity="medium",
            since=twin.proposed_on,
            notify=(*owners, journey.case.home_area),
            message=(f"This person may also be {_other(twin)} (probability "
                     f"{twin.probability:.3f}): review the pair and confirm or reject it."),
            evidence={"proposal": twin.proposal,
                      "other_person": None if twin.restricted else twin.person,
                      "probability": round(twin.probability, 4)},
        )


def _other(twin) -> str:
    if twin.restricted:
        return f"a restricted person's record (proposal {twin.proposal})"
    return f"person {twin.person}"


@turns(possible_same_person)
def possible_same_person_turns(journey: Journey, context: Context):
    """No day of its own: a proposal is made or decided by someone, and who is told changes
    only on the journey's own dates (an ownership starting or ending), which the engine adds."""
    return ()
