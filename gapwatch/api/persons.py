"""Posting person records with their identifiers: one person object or a list, all or nothing.

A person is the import's `person` record (`gapwatch.events.PersonRecord`, `type` may be left
out), saved with `operations.save_person` as the token's agency in ONE unit of work, so the
authority table's `save-person` row decides: an agency may register a new person, change one
only while it holds an ownership of one of their cases today, never lift a restriction, and set
only its own `local:AGENCY` reference. A record naming an identifier another person already holds
is saved and linked to that person, not duplicated (`operations.identity`); the answer names
the persons it was linked to by reference only. Cases and their journeys come by the bulk import
and `POST /events`.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DataError

from gapwatch import events
from gapwatch import operations as ops
from gapwatch.api.bearer import Caller, token_required
from gapwatch.api.events import read_batch, require_json, storable
from gapwatch.api.problems import Problem, refuse_unknown_parameters
from gapwatch.db import get_session
from gapwatch.errors import DomainError, InvalidInput
from gapwatch.models import Person, PersonLink
from gapwatch.operations.identity import identifiers_of

bp = Blueprint("persons", __name__)
MAX_PERSONS = 1000
_ADAPTER = TypeAdapter(events.PersonRecord)


def parse_person(data, index: int) -> events.PersonRecord:
    """Check one posted object; it must be a person record (`type` may be left out)."""
    if isinstance(data, dict) and "type" not in data:
        data = {"type": "person", **data}
    if not isinstance(data, dict) or data.get("type") != "person":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise Problem.of(InvalidInput(f"type {kind!r} cannot be posted here: /persons takes "
                                      "person records", field="type"), index=index)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        problem = Problem.of(InvalidInput(f"{where}: {first['msg']}", field=where), index=index)
        problem.errors = [{"index": index, "field": ".".join(str(p) for p in e["loc"]) or None,
                           "message": e["msg"]} for e in error.errors()]
        raise problem from None


def _links_of(uow: ops.UnitOfWork, person: Person) -> list[str]:
    others = uow.session.execute(
        select(Person.reference).join(
            PersonLink, (PersonLink.person_a_id == Person.id) | (PersonLink.person_b_id == Person.id))
        .where(PersonLink.unlinked_on.is_(None), Person.id != person.id,
               (PersonLink.person_a_id == person.id) | (PersonLink.person_b_id == person.id))
        .order_by(Person.reference)).scalars()
    return list(others)


def save_batch(uow: ops.UnitOfWork, parsed: list[events.PersonRecord]) -> list[dict]:
    """Save the persons in order; the first refusal names its index and undoes the batch."""
    events.preload(uow, parsed)
    saved = []
    for index, record in enumerate(parsed):
        try:
            existed = uow.find_person(record.reference) is not None
            person = events.apply_record(uow, record)
            uow.flush()
        except DomainError as error:
            raise Problem.of(error, index=index) from None
        # A restricted person's identifiers are details: an agency may change the record
        # without being one that may open them (a prison's own reception), so none are echoed.
        own = {} if person.restricted else identifiers_of(uow.session, [person.id])[person.id]
        saved.append({"index": index, "reference": person.reference, "created": not existed,
                      "identifiers": own, "identifiers_withheld": bool(person.restricted),
                      "linked_to": _links_of(uow, person)})
    return saved


@bp.post("/persons")
@token_required
def post():
    caller: Caller = g.caller
    require_json("persons")
    refuse_unknown_parameters()
    items = read_batch(request.get_data(cache=False), "persons", MAX_PERSONS)
    for index, item in enumerate(items):
        try:
            storable(item, index)
        except RecursionError:
            raise Problem.of(InvalidInput("the person is nested too deeply", field="body"),
                             index=index) from None
    parsed = [parse_person(item, index) for index, item in enumerate(items)]
    try:
        with ops.unit_of_work(get_session(), caller.actor) as uow:
            persons = save_batch(uow, parsed)
            body = json.dumps({"saved": len(persons), "persons": persons})
            uow.trail.record(actor=caller.actor.name, action="api.persons",
                             detail={"saved": len(persons),
                                     "persons": [p["reference"] for p in persons]})
            ops.note_token_use(uow, token=caller.token)
    except DataError as error:
        reason = str(getattr(error, "orig", error)).splitlines()[0]
        raise Problem.of(InvalidInput(f"the database cannot store a value: {reason}",
                                      field="body")) from None
    return Response(body, status=200, mimetype="application/json")
