"""The record and event formats shared by the bulk import and the API, and how each is applied.

A record is a dict with a `type` (`agency`, `contract`, `person`, `case`, `event`); an event
has an `event` name. `parse_record` checks a record against its schema (unknown keys, values
outside their sets and dates that do not parse are refused, naming the field); `apply_record`
hands it to the domain operation that does it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from gapwatch import clock, identity, text
from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.models import AgencyKind, HandoffKind, RiskLevel, Role, Severity

Code = Annotated[str, Field(min_length=1, max_length=64)]


def _iso_day(value: Any) -> Any:
    """Accept a day only as a date or a YYYY-MM-DD string within the days gapwatch accepts."""
    if value is None:
        return value
    try:
        if isinstance(value, date):
            return clock.check_day(value)
        return clock.parse_day(value) if isinstance(value, str) else clock.check_day(value)
    except clock.DayRefused as error:
        # pydantic names the field and the value itself: keep only what is wrong.
        raise ValueError(error.why) from None


def _plain(value: str) -> str:
    """Refuse bidirectional and other control characters (gapwatch.text)."""
    if (why := text.problem(value)) is not None:
        raise ValueError(why)
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
Plain = AfterValidator(_plain)
Officer = Annotated[str, Field(max_length=200), Plain]
Reason = Annotated[str, Field(max_length=1000), Plain]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


class AgencyRecord(Record):
    type: Literal["agency"]
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200), Plain]
    kind: AgencyKind
    region: Annotated[str, Field(max_length=100)] = ""
    alert_emails: list[str] = []
    alert_severities: list[Severity] | None = None
    escalation_emails: list[str] | None = None
    active: bool = True


class ContractRecord(Record):
    type: Literal["contract"]
    provider: Code
    commissioner: Code
    service: Annotated[str, Field(min_length=1, max_length=100)]
    starts_on: Day
    ends_on: Day | None = None


class PersonRecord(Record):
    type: Literal["person"]
    reference: Code
    given_name: Annotated[str, Field(min_length=1, max_length=100), Plain]
    family_name: Annotated[str, Field(min_length=1, max_length=100), Plain]
    date_of_birth: Day
    home_area: Code | None = None
    restricted: bool = False
    # {"noms": "A1234BC", "crn": "X123456", "pnc": "2001/0123456F", "local:AGENCY": "..."}
    identifiers: dict[Annotated[str, Field(max_length=40)],
                      Annotated[str, Field(max_length=64)]] = {}


class CaseRecord(Record):
    type: Literal["case"]
    reference: Code
    person: Code
    opened_on: Day
    risk_level: RiskLevel = RiskLevel.medium
    expected_release_on: Day | None = None


class Event(Record):
    type: Literal["event"] = "event"
    case: Code
    on: Day


class OwnershipStarted(Event):
    event: Literal["ownership_started"]
    agency: Code
    role: Role
    officer: Officer | None = None


class OwnershipEnded(Event):
    event: Literal["ownership_ended"]
    agency: Code
    role: Role | None = None
    reason: Annotated[str, Field(max_length=500), Plain] | None = None


class OfficerAssigned(Event):
    event: Literal["officer_assigned"]
    agency: Code
    officer: Annotated[str, Field(min_length=1, max_length=200), Plain]
    role: Role | None = None


class HandoffRequested(Event):
    event: Literal["handoff_requested"]
    from_agency: Code | None = None
    to_agency: Code
    role: Role
    kind: HandoffKind
    due_on: Day | None = None
    reason: Reason | None = None


class HandoffAccepted(Event):
    event: Literal["handoff_accepted"]
    to_agency: Code
    officer: Officer | None = None


class HandoffRejected(Event):
    event: Literal["handoff_rejected"]
    to_agency: Code
    reason: Annotated[str, Field(min_length=1, max_length=1000), Plain]


class HandoffWithdrawn(Event):
    event: Literal["handoff_withdrawn"]
    to_agency: Code
    reason: Reason | None = None


class CaseClosed(Event):
    event: Literal["case_closed"]
    reason: Reason | None = None


EventRecord = Annotated[
    OwnershipStarted
    | OwnershipEnded
    | OfficerAssigned
    | HandoffRequested
    | HandoffAccepted
    | HandoffRejected
    | HandoffWithdrawn
    | CaseClosed,
    Field(discriminator="event"),
]

_EVENTS: dict[str, Any] = {
    "ownership_started": ops.start_ownership,
    "ownership_ended": ops.end_ownership,
    "officer_assigned": ops.assign_officer,
    "handoff_requested": ops.request_handoff,
    "handoff_accepted": ops.accept_handoff,
    "handoff_rejected": ops.reject_handoff,
    "handoff_withdrawn": ops.withdraw_handoff,
    "case_closed": ops.close_case,
}
EVENT_NAMES = tuple(_EVENTS)
RECORD_TYPES = {
    "agency": AgencyRecord,
    "contract": ContractRecord,
    "person": PersonRecord,
    "case": CaseRecord,
}
_event_adapter: TypeAdapter = TypeAdapter(EventRecord)


def describe(error: ValidationError) -> str:
    """Turn pydantic's report into one sentence naming the field and what was wrong."""
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"] if p not in EVENT_NAMES) or "record"
        kind = item["type"]
        given = item.get("input")
        if kind == "extra_forbidden":
            problems.append(f"unknown key {where!r}")
        elif kind == "missing":
            problems.append(f"missing key {where!r}")
        elif kind in {"date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"}:
            problems.append(f"{where}: {given!r} is not a date (YYYY-MM-DD)")
        elif kind == "value_error":
            problems.append(f"{where}: {given!r} {item['ctx']['error']}")
        elif kind in {"enum", "literal_error"}:
            allowed = item.get("ctx", {}).get("expected", "")
            problems.append(f"{where}: {given!r} is not one of {allowed}")
        else:
            problems.append(f"{where}: {item['msg'].lower()} (got {given!r})")
    return "; ".join(problems)


def parse_record(data: Any) -> Record:
    """Check `data` against the schema of its type; raise InvalidInput naming what is wrong."""
    if not isinstance(data, dict):
        raise InvalidInput(f"a record must be an object, not {type(data).__name__}")
    kind = data.get("type")
    try:
        if kind == "event":
            if data.get("event") not in _EVENTS:
                names = ", ".join(EVENT_NAMES)
                raise InvalidInput(
                    f"event {data.get('event')!r} is not one of {names}", field="event"
                )
            return _event_adapter.validate_python(data)
        schema = RECORD_TYPES.get(kind)
        if schema is None:
            names = ", ".join([*RECORD_TYPES, "event"])
            raise InvalidInput(f"type {kind!r} is not one of {names}", field="type")
        return schema.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe(error)) from None


def preload(uow: ops.UnitOfWork, records: list[Record]) -> None:
    """Load the persons, identifiers and cases a batch of records names, before applying it."""
    uow.preload_persons(r.reference for r in records if r.type == "person")
    ops.preload_identifiers(uow, [pair for r in records if r.type == "person"
                                  for pair in _identifier_pairs(r.identifiers)])
    uow.preload_cases(r.case if r.type == "event" else r.reference
                      for r in records if r.type in ("event", "case"))


def _identifier_pairs(identifiers: dict) -> list[tuple[str, str]]:
    """Return the valid ones of a record's identifiers; applying it names what is wrong."""
    try:
        return list(identity.normalise_all(identifiers).items())
    except InvalidInput:
        return []


def chunks(items: Iterable, size: int) -> Iterator[list]:
    """Yield `items` in lists of `size` (the last may be shorter)."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def apply_record(uow: ops.UnitOfWork, record: Record):
    """Carry out one parsed record through the domain operations."""
    values = record.model_dump(exclude={"type"})
    if isinstance(record, AgencyRecord):
        return ops.save_agency(uow, **values)
    if isinstance(record, ContractRecord):
        return ops.save_contract(uow, **values)
    if isinstance(record, PersonRecord):
        return ops.save_person(uow, **values)
    if isinstance(record, CaseRecord):
        return ops.open_case(uow, **values)
    operation = _EVENTS[values.pop("event")]
    return operation(uow, **values)
