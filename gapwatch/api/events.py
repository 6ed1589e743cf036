"""Posting events: one event object or a list, applied all or nothing, safe to retry.

The events are the import's (`gapwatch.events`): each is checked with `parse_record` and carried
out with `apply_record` through the domain operations, as the token's agency, in ONE unit of
work. The first refused event rolls the whole batch back and the problem names its index.
Tokens post events only: agencies, contracts, persons and cases are reference data that decide
who may see a case, so they come from the bulk import or an administrator.

An `Idempotency-Key` header makes a retry safe: the first answer is stored with the events, in
the same transaction, and a repeat with the same key and body gets that answer again without
applying anything; the same key with another body is refused (422).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache

from flask import Blueprint, Response, g, request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DataError

from gapwatch import clock, events
from gapwatch import operations as ops
from gapwatch.api.bearer import Caller, token_required
from gapwatch.api.problems import Problem, refuse_unknown_parameters
from gapwatch.db import get_session
from gapwatch.errors import DomainError, Forbidden, InvalidInput, NotFound
from gapwatch.models import Case, Handoff, IdempotencyRecord, Ownership
from gapwatch.queries import visible_to_agency

bp = Blueprint("events", __name__)
MAX_EVENTS = 1000
MAX_KEY = 200
DATE_FIELDS = ("on", "due_on")
KEY = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_KEY}}}")


@cache
def _event_adapter() -> TypeAdapter:
    return TypeAdapter(events.EventRecord)


def _field_errors(data: dict, index: int) -> list[dict]:
    """List each field pydantic refused, for the problem's `errors`."""
    try:
        _event_adapter().validate_python(data)
    except ValidationError as error:
        return [
            {"index": index,
             "field": ".".join(str(p) for p in e["loc"] if p not in events.EVENT_NAMES) or None,
             "message": e["msg"]}
            for e in error.errors()
        ]
    return []


def parse_event(data, index: int) -> events.Event:
    """Check one posted object; it must be an event (`type` may be left out)."""
    if isinstance(data, dict) and "type" not in data:
        data = {"type": "event", **data}
    if isinstance(data, dict) and data.get("type") != "event":
        raise Problem.of(InvalidInput(
            f"type {data.get('type')!r} cannot be posted: the API takes events only "
            "(agencies, contracts, persons and cases come by bulk import)", field="type"),
            index=index)
    for name in DATE_FIELDS:
        if isinstance(data, dict) and data.get(name) is not None and not isinstance(data[name], str):
            # pydantic would read a number as a Unix timestamp; the API's dates are YYYY-MM-DD.
            raise Problem.of(InvalidInput(f"{name}: {data[name]!r} is not a date (YYYY-MM-DD)",
                                          field=name), index=index)
    try:
        return events.parse_record(data)
    except InvalidInput as error:
        problem = Problem.of(error, index=index)
        if error.field is None:
            problem.errors = _field_errors(data, index) or problem.errors
        raise problem from None


def require_json(what: str) -> None:
    """Refuse (415) a posted body that does not say it is JSON; `what` names the records."""
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported media type",
                      f"send the {what} as JSON (Content-Type: application/json), not "
                      f"{request.mimetype or 'a body without a type'}",
                      headers={"Accept-Post": "application/json"},
                      errors=[{"index": None, "field": "Content-Type",
                               "message": "must be application/json"}])


def read_batch(raw: bytes, what: str = "events", most: int = MAX_EVENTS) -> list:
    """Return the posted records as a list, refusing a body that is not one record or a list of
    at most `most` (`what` names them in the refusal)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem.of(InvalidInput(f"the body is not JSON: {error}", field="body")) from None
    except RecursionError:
        raise Problem.of(InvalidInput("the body is nested too deeply", field="body")) from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise Problem.of(InvalidInput(f"the list of {what} is empty", field="body"))
    if len(items) > most:
        raise Problem.of(InvalidInput(
            f"{len(items)} {what} in one request; send at most {most}", field="body"))
    return items


def storable(value, index: int | None = None) -> None:
    """Refuse text no database column can hold: NUL characters and unpaired surrogates."""
    if isinstance(value, dict):
        for key, item in value.items():
            storable(key, index)
            storable(item, index)
    elif isinstance(value, list):
        for item in value:
            storable(item, index)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad = True
        else:
            bad = "\x00" in value
        if bad:
            raise Problem.of(InvalidInput(
                "text holds a NUL character or an unpaired surrogate", field="body"), index=index)


def _require_visible(caller: Caller, parsed: list[events.Event]) -> None:
    """Refuse, as unknown, an event about a case the token's agency is not involved in."""
    wanted = {e.case for e in parsed}
    seen = set(get_session().execute(
        select(Case.reference).where(Case.reference.in_(wanted),
                                     visible_to_agency(caller.agency.id))
    ).scalars())
    for index, event in enumerate(parsed):
        if event.case not in seen:
            raise Problem.of(NotFound(
                f"no case {event.case!r} that {caller.agency.code} is involved in",
                field="case"), index=index)


def _outcome(index: int, event: events.Event, result) -> dict:
    entry = {"index": index, "event": event.event, "case": event.case}
    if isinstance(result, Handoff):
        entry.update(handoff_id=result.id, status=result.status)
    elif isinstance(result, Ownership):
        entry.update(ownership_id=result.id)
    return entry


def _scope_field(event: events.Event) -> str:
    """Name the field a scope refusal is about: the agency the token would be acting for."""
    if event.event == "handoff_requested":
        return "from_agency"
    if event.event.startswith("handoff_"):
        return "to_agency"
    return "case" if event.event == "case_closed" else "agency"


def apply_batch(uow: ops.UnitOfWork, parsed: list[events.Event]) -> list[dict]:
    """Apply the events in order; the first refusal names its index and undoes the batch."""
    uow.preload_cases(e.case for e in parsed)
    outcomes = []
    for index, event in enumerate(parsed):
        try:
            outcomes.append(_outcome(index, event, events.apply_record(uow, event)))
        except DomainError as error:
            if isinstance(error, Forbidden) and error.field is None:
                error.field = _scope_field(event)
            raise Problem.of(error, index=index) from None
    uow.flush()
    return outcomes


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY.fullmatch(key):
        raise Problem.of(InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY} letters, digits or . _ : - (a UUID will do)",
            field="Idempotency-Key"))
    return key


def _earlier(uow: ops.UnitOfWork, caller: Caller, key: str, digest: str) -> Response | None:
    """Return the stored answer to an earlier request with this key, if there was one."""
    earlier = uow.session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.token_id == caller.token.id,
                                        IdempotencyRecord.key == key)
    ).scalar_one_or_none()
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise Problem.of(DomainError(
            f"Idempotency-Key {key!r} was first used on {earlier.created_at:%Y-%m-%d %H:%M} "
            "UTC with a different body; use a new key for a new request",
            field="Idempotency-Key"))
    response = Response(earlier.response_body, status=earlier.status_code,
                        mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/events")
@token_required
def post():
    caller: Caller = g.caller
    require_json("events")
    raw = request.get_data(cache=False)
    digest = hashlib.sha256(raw).hexdigest()
    refuse_unknown_parameters()
    key = _idempotency_key()
    try:
        items = read_batch(raw)
        for index, item in enumerate(items):
            try:
                storable(item, index)
            except RecursionError:
                raise Problem.of(InvalidInput("the event is nested too deeply", field="body"),
                                 index=index) from None
        parsed = [parse_event(item, index) for index, item in enumerate(items)]
        _require_visible(caller, parsed)
        with ops.unit_of_work(get_session(), caller.actor) as uow:
            if key is not None and (replay := _earlier(uow, caller, key, digest)) is not None:
                ops.note_token_use(uow, token=caller.token)
                return replay
            body = json.dumps({"applied": len(parsed), "events": apply_batch(uow, parsed)})
            if key is not None:
                uow.session.add(IdempotencyRecord(
                    token_id=caller.token.id, key=key, request_hash=digest, status_code=200,
                    response_body=body, created_at=clock.now()))
            uow.trail.record(actor=caller.actor.name, action="api.events",
                             detail={"applied": len(parsed), "idempotency_key": key})
            ops.note_token_use(uow, token=caller.token)
    except DataError as error:
        reason = str(getattr(error, "orig", error)).splitlines()[0]
        raise Problem.of(InvalidInput(f"the database cannot store a value: {reason}",
                                      field="body")) from None
    return Response(body, status=200, mimetype="application/json")
