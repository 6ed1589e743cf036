"""A case's whole history, as one plain dictionary: the contents of every case export.

The history holds every column the database keeps for the case's person, case, ownerships,
handoffs and flags (agencies by code), each flag's lifecycle from the audit trail, the case's
audit entries, and the owner-less gaps of its journey (a restricted person's details withheld from those who may not
open them: `details_shown`). `as_of` gives the history as it stood at
the end of that day, with the same cut as `Journey.as_of`: anything dated later is left out,
and decisions taken later read as not yet taken. docs/audit.md documents the schema.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from gapwatch import audit, clock, details
from gapwatch.errors import NotFound
from gapwatch.models import (
    Agency,
    AuditEvent,
    Case,
    Flag,
    FlagAcknowledgement,
    Handoff,
    Ownership,
    Person,
)
from gapwatch.queries import load_journey
from gapwatch.seen import seen_on, seen_through

FORMAT = "gapwatch.case-history/1"


def columns(row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return every column of a table row as a dict, in table order."""
    return {c.name: getattr(row, c.name) for c in row.__table__.columns if c.name not in skip}


def codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Agency.id, Agency.code)).all())


def local_day(moment: datetime) -> date:
    return moment.astimezone(clock.ZONE).date()


# -- reading --------------------------------------------------------------------------------
def _person(session: Session, case: Case, agency: dict[int, str]) -> dict:
    person = session.get(Person, case.person_id)
    record = columns(person, skip=("home_area_id",))
    record["home_area"] = agency.get(person.home_area_id)
    return record


def _ownerships(session: Session, case: Case, agency: dict[int, str]) -> list[dict]:
    rows = session.execute(
        select(Ownership).where(Ownership.case_id == case.id).order_by(Ownership.starts_on, Ownership.id)
    ).scalars()
    out = []
    for o in rows:
        record = columns(o, skip=("case_id", "agency_id"))
        record = {"id": o.id, "agency": agency[o.agency_id], **record}
        out.append(record)
    return out


def _handoffs(session: Session, case: Case, agency: dict[int, str]) -> list[dict]:
    rows = session.execute(
        select(Handoff).where(Handoff.case_id == case.id).order_by(Handoff.requested_on, Handoff.id)
    ).scalars()
    out = []
    for h in rows:
        record = columns(h, skip=("case_id", "from_agency_id", "to_agency_id"))
        record["from_agency"] = agency.get(h.from_agency_id)
        record["to_agency"] = agency[h.to_agency_id]
        out.append(record)
    return out


def _audit(session: Session, case: Case) -> list[dict]:
    rows = session.execute(
        select(*audit.ENTRY_COLUMNS).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
    ).all()
    return [dict(zip(audit.Entry.__slots__, row, strict=True)) for row in rows]


def _belongs_to(entry: dict, flag: dict) -> bool:
    """Tell whether a `flag.*` audit entry is about this flag (by id, or by rule and subject)."""
    detail = entry["detail"] or {}
    if "flag_id" in detail or "flag" in detail and isinstance(detail["flag"], int):
        return detail.get("flag_id", detail.get("flag")) == flag["id"]
    return detail.get("rule") == flag["rule"] and detail.get("subject") == flag["subject"]


def _flags(session: Session, case: Case, entries: list[dict]) -> list[dict]:
    rows = session.execute(
        select(Flag).where(Flag.case_id == case.id).order_by(Flag.since, Flag.id)
    ).scalars()
    flags = list(rows)
    said: dict[int, list[dict]] = {}
    for ack in session.execute(
        select(FlagAcknowledgement)
        .where(FlagAcknowledgement.flag_id.in_([f.id for f in flags]))
        .order_by(FlagAcknowledgement.acknowledged_on, FlagAcknowledgement.agency)
    ).scalars():
        said.setdefault(ack.flag_id, []).append(columns(ack, skip=("id", "flag_id")))
    flag_entries = [e for e in entries if e["action"].startswith("flag.")]
    through = seen_through(session)
    out = []
    for flag in flags:
        record = columns(flag, skip=("case_id",))
        record["last_seen_on"] = seen_on(flag.last_seen_on, flag.status, through)
        record["acknowledgements"] = said.get(flag.id, [])
        record["lifecycle"] = [
            {"seq": e["seq"], "at": e["at"], "actor": e["actor"], "action": e["action"],
             "detail": e["detail"]}
            for e in flag_entries if _belongs_to(e, record)
        ]
        out.append(record)
    return out


# -- as it stood ----------------------------------------------------------------------------
def _case_as_of(case: dict, day: date) -> dict:
    if case["closed_on"] is not None and case["closed_on"] > day:
        case = {**case, "closed_on": None}
    return case


def _ownership_as_of(o: dict, day: date) -> dict | None:
    if o["starts_on"] > day:
        return None
    if o["ends_on"] is not None and o["ends_on"] > day:
        o = {**o, "ends_on": None, "ended_reason": None}
    if o["allocated_on"] is not None and o["allocated_on"] > day:
        o = {**o, "officer": None, "allocated_on": None}
    return o


def _handoff_as_of(h: dict, day: date) -> dict | None:
    if h["requested_on"] > day:
        return None
    if h["decided_on"] is not None and h["decided_on"] > day:
        h = {**h, "status": "pending", "decided_on": None, "reason": None, "officer": None}
    return h


def entry_day(entry: dict) -> date:
    """Return the day an entry speaks for: its `on` (a scan's day) if it has one, else its date."""
    on = (entry["detail"] or {}).get("on")
    try:
        return date.fromisoformat(on) if isinstance(on, str) else local_day(entry["at"])
    except ValueError:
        return local_day(entry["at"])


def _flag_as_of(f: dict, day: date) -> dict | None:
    if f["first_seen_on"] > day:
        return None
    f = {**f, "lifecycle": [e for e in f["lifecycle"] if entry_day(e) <= day]}
    f["last_seen_on"] = min(f["last_seen_on"], day)
    if f["resolved_on"] is not None and f["resolved_on"] > day:
        f.update(status="open", resolved_on=None)
    f["acknowledgements"] = [a for a in f["acknowledgements"] if a["acknowledged_on"] <= day]
    if f["status"] != "resolved":
        everyone = set(f["notify"] or []) <= {a["agency"] for a in f["acknowledgements"]}
        f["status"] = "acknowledged" if f["notify"] and everyone else "open"
    return f


def _cut(history: dict, day: date) -> dict:
    """Return the history as it stood at the end of `day`."""
    keep = lambda items, cut: [x for x in (cut(i, day) for i in items) if x is not None]  # noqa: E731
    return {
        **history,
        "case": _case_as_of(history["case"], day),
        "ownerships": keep(history["ownerships"], _ownership_as_of),
        "handoffs": keep(history["handoffs"], _handoff_as_of),
        "flags": keep(history["flags"], _flag_as_of),
        "audit": [e for e in history["audit"] if local_day(e["at"]) <= day],
    }


# -- the history ----------------------------------------------------------------------------
def _gaps(session: Session, reference: str, until: date) -> list[dict]:
    """Return the journey's owner-less intervals up to `until`; an open one has `ends_on` null."""
    journey = load_journey(session, reference).as_of(until)
    after = until + timedelta(days=1)
    return [
        {"starts_on": g.starts_on, "ends_on": None if g.ends_on == after else g.ends_on,
         "days": g.days(after)}
        for g in journey.gaps(journey.case.opened_on, after)
    ]


def _without_details(history: dict) -> dict:
    """Return the history with the person's details withheld: their record and every audit
    detail that carries them (`gapwatch.details`)."""
    person = {k: details.WITHHELD if k in details.PERSONAL or k == "reference" else v
              for k, v in history["person"].items()}
    entry = lambda e: {**e, "detail": details.withhold(e["detail"] or {})}  # noqa: E731
    return {
        **history,
        "person": {**person, "details_withheld": True},
        "flags": [{**f, "lifecycle": [entry(e) for e in f["lifecycle"]]} for f in history["flags"]],
        "audit": [entry(e) for e in history["audit"]],
    }


def case_history(session: Session, reference: str, *, as_of: date | None = None,
                 details_shown: bool = True) -> dict:
    """Return everything the database holds about case `reference` (as it stood on `as_of`);
    without the person's details unless `details_shown`."""
    case = session.execute(select(Case).where(Case.reference == reference)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"unknown case {reference!r}", field="case")
    agency = codes(session)
    entries = _audit(session, case)
    head_seq, head_hash = audit.chain_head(session)
    history = {
        "format": FORMAT,
        "exported_at": clock.now(),
        "as_of": as_of,
        "audit_head": {"seq": head_seq, "hash": head_hash},
        "person": _person(session, case, agency),
        "case": columns(case, skip=("person_id",)),
        "ownerships": _ownerships(session, case, agency),
        "handoffs": _handoffs(session, case, agency),
        "flags": _flags(session, case, entries),
        "audit": entries,
    }
    if as_of is not None:
        history = _cut(history, as_of)
    if not details_shown:
        history = _without_details(history)
    history["gaps"] = _gaps(session, reference, as_of or clock.today())
    return history
