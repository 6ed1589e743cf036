"""The OpenAPI 3.1 document of `/api/v1/`, served at `/api/v1/openapi.json`.

The event schemas are derived from the import's pydantic models (`gapwatch.events`), so the
document cannot drift from what `POST /events` accepts; the response schemas mirror the JSON
that `cases`, `flags` and `events` build, and every error is a `Problem`.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, jsonify
from pydantic import TypeAdapter

from gapwatch import events
from gapwatch.api.events import MAX_EVENTS, MAX_KEY
from gapwatch.api.flags import DEFAULT_LIMIT, MAX_LIMIT
from gapwatch.api.persons import MAX_PERSONS
from gapwatch.api.problems import MEDIA_TYPE
from gapwatch.models import FlagStatus, HandoffKind, HandoffStatus, RiskLevel, Role, Severity

bp = Blueprint("openapi", __name__)

DAY = {"type": "string", "format": "date"}
MAYBE_DAY = {"type": ["string", "null"], "format": "date"}
TEXT = {"type": "string"}
MAYBE_TEXT = {"type": ["string", "null"]}
ID = {"type": "integer"}


def _object(properties: dict, *, properties_optional: dict | None = None, **extra) -> dict:
    return {"type": "object", "required": list(properties),
            "properties": {**properties, **(properties_optional or {})}, **extra}


def _enum(values) -> dict:
    return {"type": "string", "enum": [v.value for v in values]}


def person_schema() -> dict:
    """Return the JSON schema of a person record, from the import's model."""
    schema = TypeAdapter(events.PersonRecord).json_schema()
    schema["properties"]["type"] = {"const": "person", "default": "person"}
    schema["required"] = [r for r in schema.get("required", []) if r != "type"]
    schema["properties"]["identifiers"]["description"] = (
        "Scheme: value. `noms` (prison number, A1234BC), `crn` (case reference number, "
        "X123456), `pnc` (PNC id with its check character, 2001/0123456F), `local:AGENCY` "
        "(the token's own agency only).")
    return schema


def event_schemas() -> dict:
    """Return the JSON schemas of the events, as components, from the import's models."""
    schema = TypeAdapter(events.EventRecord).json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components = schema.pop("$defs")
    components["Event"] = schema
    components["EventBatch"] = {
        "oneOf": [
            {"$ref": "#/components/schemas/Event"},
            {"type": "array", "items": {"$ref": "#/components/schemas/Event"},
             "minItems": 1, "maxItems": MAX_EVENTS},
        ]
    }
    return components


def record_schemas() -> dict:
    """Return the schemas of what the API answers."""
    ownership = _object({"id": ID, "agency": TEXT, "role": _enum(Role), "starts_on": DAY,
                         "ends_on": MAYBE_DAY, "officer": MAYBE_TEXT,
                         "handoff_id": {"type": ["integer", "null"]}})
    handoff = _object({"id": ID, "kind": _enum(HandoffKind), "role": _enum(Role),
                       "from_agency": MAYBE_TEXT, "to_agency": TEXT, "requested_on": DAY,
                       "due_on": MAYBE_DAY, "status": _enum(HandoffStatus),
                       "decided_on": MAYBE_DAY, "effective_on": MAYBE_DAY,
                       "reason": MAYBE_TEXT})
    person = {
        "type": "object",
        "required": ["reference", "home_area", "restricted", "details_shown"],
        "properties": {"reference": MAYBE_TEXT, "home_area": MAYBE_TEXT,
                       "restricted": {"type": "boolean"},
                       "details_shown": {"type": "boolean"}, "given_name": TEXT,
                       "family_name": TEXT, "date_of_birth": DAY,
                       "identifiers": {"type": "object", "additionalProperties": TEXT,
                                       "description": "By scheme: noms, crn, pnc, local:AGENCY"}},
        "description": "A restricted person's reference, names, birth date and identifiers are "
                       "shown only to an agency that owns the case today (not one it started "
                       "for itself outside a gap); to others `reference` is null and "
                       "`details_shown` false.",
    }
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    many = lambda name: {"type": "array", "items": ref(name)}  # noqa: E731
    flag = _object({"id": ID, "case": TEXT, "rule": TEXT, "subject": TEXT,
                    "severity": _enum(Severity), "status": _enum(FlagStatus), "since": DAY,
                    "notify": {"type": "array", "items": TEXT}, "message": TEXT,
                    "first_seen_on": DAY, "last_seen_on": DAY, "resolved_on": MAYBE_DAY,
                    "acknowledged_on": MAYBE_DAY, "snoozed_until": MAYBE_DAY,
                    "acknowledgements": {"type": "array", "items": _object({
                        "agency": TEXT, "note": TEXT, "acknowledged_on": DAY,
                        "snoozed_until": MAYBE_DAY})},
                    "note": MAYBE_TEXT})
    return {
        "Ownership": ownership,
        "Handoff": handoff,
        "Person": person,
        "Gap": _object({"starts_on": DAY, "ends_on": {**MAYBE_DAY, "description":
                        "The first day someone was accountable again; null: the gap is still open."}}),
        "Case": _object({"reference": TEXT, "opened_on": DAY, "closed_on": MAYBE_DAY,
                         "risk_level": _enum(RiskLevel), "expected_release_on": MAYBE_DAY,
                         "person": ref("Person"), "accountable_today": many("Ownership"),
                         "pending_handoffs": many("Handoff")}),
        "Journey": _object({"case": TEXT, "today": DAY, "accountable_today": many("Ownership"),
                            "agencies": {"type": "array", "items": TEXT},
                            "ownerships": many("Ownership"), "handoffs": many("Handoff"),
                            "gaps": many("Gap")}),
        "Flag": flag,
        "FlagPage": _object({"items": many("Flag"), "limit": ID,
                             "next_cursor": {"type": ["string", "null"]}}),
        "EventOutcome": {
            "type": "object", "required": ["index", "event", "case"],
            "properties": {"index": ID, "event": TEXT, "case": TEXT, "handoff_id": ID,
                           "status": _enum(HandoffStatus), "ownership_id": ID},
        },
        "EventsApplied": _object({"applied": ID, "events": many("EventOutcome")}),
        "PersonBatch": {
            "oneOf": [
                {"$ref": "#/components/schemas/PersonRecord"},
                {"type": "array", "items": {"$ref": "#/components/schemas/PersonRecord"},
                 "minItems": 1, "maxItems": MAX_PERSONS},
            ]
        },
        "PersonSaved": _object({
            "index": ID, "reference": TEXT,
            "created": {"type": "boolean", "description": "false: an existing person updated"},
            "identifiers": {"type": "object", "additionalProperties": TEXT, "description":
                            "The identifiers the person holds after saving, in kept form "
                            "(none for a restricted person: see identifiers_withheld)."},
            "identifiers_withheld": {"type": "boolean", "description":
                                     "true for a restricted person, whose identifiers are "
                                     "details not echoed back."},
            "linked_to": {"type": "array", "items": TEXT, "description":
                          "References of the persons this record is linked to, e.g. because "
                          "it named an identifier they already hold."}}),
        "PersonsSaved": _object({"saved": ID, "persons": many("PersonSaved")}),
        "ProblemError": _object({"index": {"type": ["integer", "null"], "description":
                                           "Which event of the batch, from 0."},
                                 "field": MAYBE_TEXT, "message": TEXT},
                                properties_optional={"rule": {
                                    "type": "string", "description":
                                    "The row of the authority table (SPEC.md, 'Who may do "
                                    "what') that refused, e.g. close-case."}}),
        "Problem": _object({"type": {"type": "string", "format": "uri"}, "title": TEXT,
                            "status": ID, "detail": TEXT, "errors": many("ProblemError")}),
    }


PROBLEMS = {
    "BadRequest": (400, "Malformed input: not JSON, an unknown key, a date that does not parse."),
    "Unauthorized": (401, "No bearer token, or one that is unknown, revoked or expired."),
    "Forbidden": (403, "The token's agency may not do this (another agency's side of a journey), "
                       "or the token's scope is `read` and the call writes."),
    "NotFound": (404, "No such case, or not one the token's agency is involved in."),
    "Conflict": (409, "The journey's state does not allow it: already decided, already pending."),
    "TooLarge": (413, "The body is larger than the API takes (MAX_CONTENT_LENGTH, 2 MB)."),
    "UnsupportedMediaType": (415, "The body is not sent as `application/json`."),
    "Refused": (422, "A well-formed request the domain refuses, or an Idempotency-Key reused "
                     "with another body."),
}

EXAMPLE_PROBLEM = {
    "type": "https://gapwatch.example/problems/conflict", "title": "Conflict", "status": 409,
    "detail": "event 2: cannot accept: the handoff to WMIDS for case C-0001 is already accepted",
    "errors": [{"index": 2, "field": "to_agency",
                "message": "cannot accept: the handoff to WMIDS for case C-0001 is already accepted"}],
}

EXAMPLE_EVENTS = [
    {"type": "event", "case": "C-0001", "on": "2026-05-01", "event": "handoff_requested",
     "from_agency": "HMP-HEWELL", "to_agency": "WMIDS", "role": "supervision",
     "kind": "transfer", "due_on": "2026-06-10"},
    {"type": "event", "case": "C-0001", "on": "2026-05-01", "event": "officer_assigned",
     "agency": "HMP-HEWELL", "officer": "A. Jones"},
]


EXAMPLE_PERSON = {
    "reference": "P-0042", "given_name": "Sam", "family_name": "Example",
    "date_of_birth": "1990-04-01", "home_area": "WMIDS",
    "identifiers": {"noms": "A1234BC", "crn": "X123456", "pnc": "2001/0123456F",
                    "local:WMIDS": "WM-0042"},
}


def problem_responses() -> dict:
    responses = {}
    for name, (status, description) in PROBLEMS.items():
        example = {**EXAMPLE_PROBLEM, "status": status}
        responses[name] = {
            "description": description,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"},
                                     "example": example}},
        }
    responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {"description": "`Bearer realm=\"gapwatch\"`", "schema": TEXT}
    }
    return responses


def _errors(*names: str) -> dict:
    statuses = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403",
                "NotFound": "404", "Conflict": "409", "TooLarge": "413",
                "UnsupportedMediaType": "415", "Refused": "422"}
    return {statuses[n]: {"$ref": f"#/components/responses/{n}"} for n in names}


def _json(schema: str, description: str, example: dict | None = None) -> dict:
    content = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if example is not None:
        content["example"] = example
    return {"description": description, "content": {"application/json": content}}


REFERENCE = {"name": "reference", "in": "path", "required": True,
             "description": "The case's reference, as in the import.",
             "schema": {"type": "string", "minLength": 1, "maxLength": 64},
             "example": "C-0001"}


def paths() -> dict:
    flag_filters = [
        {"name": "agency", "in": "query", "description": "Only flags whose notify list names "
         "this agency.", "schema": {"type": "string", "pattern": "^[A-Z0-9][A-Z0-9-]{1,31}$"}},
        {"name": "rule", "in": "query", "description": "Only flags of this rule, e.g. "
         "`handoff-overdue`.", "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
        {"name": "severity", "in": "query", "schema": _enum(Severity)},
        {"name": "status", "in": "query", "schema": _enum(FlagStatus)},
        {"name": "limit", "in": "query", "description": "Flags per page.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT}},
        {"name": "cursor", "in": "query", "description": "The `next_cursor` of the page before.",
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}},
    ]
    return {
        "/events": {"post": {
            "operationId": "postEvents",
            "security": [{"bearer": ["read-write"]}],
            "summary": "Apply one event or a list of events, all or nothing.",
            "description": "The events of the bulk import, carried out as the token's agency "
                           "through the domain operations in one transaction. The first refused "
                           "event rolls back the batch; the problem's `errors[].index` names it.",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                            "description": "Makes a retry safe: the same key and body return the "
                                           "first answer without applying anything again.",
                            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY,
                                       "pattern": "^[A-Za-z0-9._:-]+$"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/EventBatch"},
                "examples": {
                    "one": {"summary": "One event", "value": EXAMPLE_EVENTS[0]},
                    "batch": {"summary": "A batch", "value": EXAMPLE_EVENTS},
                }}}},
            "responses": {
                "200": {**_json("EventsApplied", "Every event was applied.", {
                    "applied": 2, "events": [
                        {"index": 0, "event": "handoff_requested", "case": "C-0001",
                         "handoff_id": 17, "status": "pending"},
                        {"index": 1, "event": "officer_assigned", "case": "C-0001",
                         "ownership_id": 9}]}),
                        "headers": {"Idempotent-Replayed": {
                            "description": "`true` when this is the stored first answer.",
                            "schema": TEXT}}},
                **_errors("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                          "TooLarge", "UnsupportedMediaType", "Refused"),
            },
        }},
        "/persons": {"post": {
            "operationId": "postPersons",
            "security": [{"bearer": ["read-write"]}],
            "summary": "Save one person record or a list, with their identifiers, all or nothing.",
            "description": "The import's person records, saved as the token's agency through the "
                           "domain operations in one transaction. The authority table's "
                           "`save-person` row decides: a new person may be registered; an "
                           "existing one changed only by an agency holding an ownership of one "
                           "of their cases today; a restriction is lifted only by an "
                           "administrator; only the token's own `local:AGENCY` reference may be "
                           "set. A record naming an identifier another person already holds is "
                           "saved and linked to that person, not duplicated (`linked_to`).",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PersonBatch"},
                "example": EXAMPLE_PERSON}}},
            "responses": {
                "200": _json("PersonsSaved", "Every person was saved.", {
                    "saved": 1, "persons": [{
                        "index": 0, "reference": "P-0042", "created": True,
                        "identifiers": {"crn": "X123456", "local:WMIDS": "WM-0042"},
                        "identifiers_withheld": False, "linked_to": ["P-0007"]}]}),
                **_errors("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                          "TooLarge", "UnsupportedMediaType", "Refused"),
            },
        }},
        "/cases/{reference}": {"get": {
            "operationId": "getCase",
            "summary": "A case: who is accountable today and its pending handoffs.",
            "parameters": [REFERENCE],
            "responses": {"200": _json("Case", "The case."),
                          **_errors("Unauthorized", "NotFound")},
        }},
        "/cases/{reference}/journey": {"get": {
            "operationId": "getJourney",
            "summary": "A case's journey: ownerships, handoffs, gaps, who is accountable today.",
            "parameters": [REFERENCE],
            "responses": {"200": _json("Journey", "The journey."),
                          **_errors("Unauthorized", "NotFound")},
        }},
        "/flags": {"get": {
            "operationId": "listFlags",
            "summary": "Flags on the cases the token's agency is involved in, a page at a time.",
            "parameters": flag_filters,
            "responses": {"200": _json("FlagPage", "A page of flags, in id order."),
                          **_errors("BadRequest", "Unauthorized")},
        }},
    }


@cache
def document() -> dict:
    """Return the whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gapwatch integration API",
            "version": "1",
            "description": "For agencies' own systems: post the events of a journey as they "
                           "happen, read back cases, journeys and flags. A token acts for one "
                           "agency. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": ["read"]}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": (
                                               "`gapwatch token create --agency CODE [--scope "
                                               "read|read-write] [--expires-in-days N]`. Scope "
                                               "`read` may only GET; posting events or persons needs "
                                               "`read-write` (else 403, insufficient_scope). "
                                               "An expired token is a 401.")}},
            "schemas": {**event_schemas(), "PersonRecord": person_schema(),
                        **record_schemas()},
            "responses": problem_responses(),
        },
    }


@bp.get("/openapi.json")
def serve():
    return jsonify(document())
