"""Reading a case and its journey: only cases the token's agency is involved in, others are 404.

"Involved" is the case managers' rule (`gapwatch.queries.visible_to_agency`): the agency has
owned the case, sent or been asked to take it, is the person's home area, or is told of a gap in
it by a flag. A restricted
person's details (reference, names, birth date, identifiers) are shown only to an agency that may
open them (`authority.may_open_details`), as on the case page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g
from sqlalchemy import select

from gapwatch import authority, clock
from gapwatch.api.bearer import Caller, record_call, token_required
from gapwatch.api.problems import refuse_unknown_parameters
from gapwatch.db import get_session
from gapwatch.errors import NotFound
from gapwatch.journey import Gap, HandoffFacts, Journey, OwnershipFacts
from gapwatch.models import Person
from gapwatch.operations.identity import identifiers_of
from gapwatch.queries import load_journeys
from gapwatch.web.access import INVOLVED_CASE_BY_REFERENCE

bp = Blueprint("cases", __name__)


def visible_journey(caller: Caller, reference: str) -> Journey:
    """Return the journey of case `reference` if the caller's agency is involved in it."""
    refuse_unknown_parameters()
    session = get_session()
    found = session.execute(INVOLVED_CASE_BY_REFERENCE,
                            {"reference": reference, "agency_id": caller.agency.id}).scalar()
    if found is None:
        raise NotFound(f"no case {reference!r} that {caller.agency.code} is involved in",
                       field="reference")
    return load_journeys(session, [found.id])[found.id]


def ownership_json(o: OwnershipFacts) -> dict:
    return {"id": o.id, "agency": o.agency, "role": o.role, "starts_on": o.starts_on.isoformat(),
            "ends_on": o.ends_on.isoformat() if o.ends_on else None, "officer": o.officer,
            "handoff_id": o.handoff_id}


def handoff_json(h: HandoffFacts) -> dict:
    day = lambda d: d.isoformat() if d else None  # noqa: E731
    return {"id": h.id, "kind": h.kind, "role": h.role, "from_agency": h.from_agency,
            "to_agency": h.to_agency, "requested_on": day(h.requested_on),
            "due_on": day(h.due_on), "status": h.status, "decided_on": day(h.decided_on),
            "effective_on": day(h.effective_on), "reason": h.reason}


def gap_json(gap: Gap, until) -> dict:
    still_open = gap.ends_on is None or gap.ends_on >= until
    return {"starts_on": gap.starts_on.isoformat(),
            "ends_on": None if still_open else gap.ends_on.isoformat()}


def _person_json(journey: Journey, caller: Caller, today) -> dict:
    facts = journey.case
    person = {"reference": None, "home_area": facts.home_area,
              "restricted": facts.restricted, "details_shown": False}
    if not authority.may_open_details(caller.agency.code, journey, today):
        return person  # the reference too: it names who the restricted person is
    row = get_session().execute(select(Person).where(Person.reference == facts.person)).scalar_one()
    return {**person, "reference": facts.person, "details_shown": True,
            "given_name": row.given_name,
            "family_name": row.family_name, "date_of_birth": row.date_of_birth.isoformat(),
            "identifiers": identifiers_of(get_session(), [row.id])[row.id]}


def case_json(journey: Journey, caller: Caller, today) -> dict:
    facts = journey.case
    return {
        "reference": facts.reference,
        "opened_on": facts.opened_on.isoformat(),
        "closed_on": facts.closed_on.isoformat() if facts.closed_on else None,
        "risk_level": facts.risk_level,
        "expected_release_on": (facts.expected_release_on.isoformat()
                                if facts.expected_release_on else None),
        "person": _person_json(journey, caller, today),
        "accountable_today": [ownership_json(o) for o in journey.accountable_on(today)],
        "pending_handoffs": [handoff_json(h) for h in journey.pending()],
    }


@bp.get("/cases/<reference>")
@token_required
def show(reference: str):
    caller, today = g.caller, clock.today()
    journey = visible_journey(caller, reference)
    body = case_json(journey, caller, today)
    record_call(caller, "api.read", case_id=journey.case.id, case_reference=reference,
                details_shown=body["person"]["details_shown"])
    return body


@bp.get("/cases/<reference>/journey")
@token_required
def journey(reference: str):
    caller, today = g.caller, clock.today()
    found = visible_journey(caller, reference)
    until = today + timedelta(days=1)  # gaps up to and including today
    body = {
        "case": reference,
        "today": today.isoformat(),
        "accountable_today": [ownership_json(o) for o in found.accountable_on(today)],
        "agencies": found.agencies(),
        "ownerships": [ownership_json(o) for o in found.ownerships],
        "handoffs": [handoff_json(h) for h in found.handoffs],
        "gaps": [gap_json(gap, until) for gap in found.gaps(found.case.opened_on, until)],
    }
    record_call(caller, "api.read", case_id=found.case.id, case_reference=reference)
    return body
