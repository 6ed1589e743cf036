"""The unit of work's buffered writes: rows wait, are written in foreign-key order in one
statement per table, a query sees them, later changes to written rows are written, and the audit
entry's text is hashed exactly as `audit.canonical` reads it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from gapwatch import audit
from gapwatch import operations as ops
from gapwatch.models import AuditEvent, Case, Ownership, Person
from tests.support import D, person_and_case, region

ACTOR = ops.Actor(name="import:test")


def _ownerships(session, case_id: int) -> list[tuple]:
    return session.execute(
        select(Ownership.agency_id, Ownership.starts_on, Ownership.ends_on, Ownership.officer)
        .where(Ownership.case_id == case_id).order_by(Ownership.id)).all()


def test_rows_wait_in_the_buffer_until_written(session):
    region(session)
    person_and_case(session)
    with ops.unit_of_work(session, ACTOR) as uow:
        ownership = ops.start_ownership(uow, case="C-1", on=D("2026-01-10"),
                                        agency="HMP-HEWELL", role="custody")
        assert ownership in uow.new_rows(Ownership)
        # Read straight from the connection, as no ORM query would: nothing written yet.
        waiting = session.connection().execute(
            select(func.count()).select_from(Ownership)).scalar()
        assert waiting == 0
        # An ORM query of the table writes the waiting rows first, as autoflush did.
        assert session.execute(select(func.count()).select_from(Ownership)).scalar() == 1
        assert uow.new_rows(Ownership) == []


def test_a_change_to_a_written_row_is_written_at_the_next_write(session):
    region(session)
    person_and_case(session)
    with ops.unit_of_work(session, ACTOR) as uow:
        ops.start_ownership(uow, case="C-1", on=D("2026-01-10"), agency="HMP-HEWELL",
                            role="custody")
        uow.flush()
        ops.assign_officer(uow, case="C-1", on=D("2026-01-12"), agency="HMP-HEWELL",
                           officer="A. Officer")
        ops.end_ownership(uow, case="C-1", on=D("2026-03-01"), agency="HMP-HEWELL")
        case_id = uow.case("C-1").case.id
    session.expire_all()
    [(_agency, starts, ends, officer)] = _ownerships(session, case_id)
    assert (starts, ends, officer) == (D("2026-01-10"), D("2026-03-01"), "A. Officer")
    # Every operation bumped the case's version, and the last bump was written too.
    assert session.execute(select(Case.version).where(Case.id == case_id)).scalar() == 4


def test_forgotten_journeys_are_read_again(session):
    region(session)
    person_and_case(session)
    with ops.unit_of_work(session, ACTOR) as uow:
        ops.start_ownership(uow, case="C-1", on=D("2026-01-10"), agency="HMP-HEWELL",
                            role="custody")
        uow.flush()
        uow.forget()
        ops.end_ownership(uow, case="C-1", on=D("2026-03-01"), agency="HMP-HEWELL")
    [(_agency, _starts, ends, _officer)] = _ownerships(
        session, session.execute(select(Case.id)).scalar())
    assert ends == D("2026-03-01")


def test_persons_rows_come_before_the_cases_that_refer_to_them(session):
    region(session)
    with ops.unit_of_work(session, ACTOR) as uow:
        for n in range(3):
            ops.save_person(uow, reference=f"P-{n}", given_name="Sam", family_name="Example",
                            date_of_birth=D("1990-05-05"), home_area="WMIDS")
            ops.open_case(uow, reference=f"C-{n}", person=f"P-{n}", opened_on=D("2026-01-10"))
    assert session.execute(select(func.count()).select_from(Person)).scalar() == 3
    assert session.execute(select(func.count()).select_from(Case)).scalar() == 3


def test_the_text_hashed_is_the_canonical_text(session):
    """Each entry's text is built once at `record`: it must be byte for byte `canonical`'s."""
    region(session)
    trail = audit.Trail(session)
    details = [
        {"name": "Zoë “quoted” \\ \u2028", "on": D("2026-01-10"), "n": 3, "x": 1.5,
         "nested": {"b": [1, None, True], "a": {"when": datetime(2026, 1, 2, tzinfo=UTC)}}},
        {"long": "x" * (audit.MAX_TEXT + 5), "set": {"only"}},
        {3: "a number as a key"},
        {},
    ]
    with ops.unit_of_work(session, ACTOR) as uow:
        trail = uow.trail
        for detail in details:
            trail.record(actor="user:zoë@example", action="test.entry", case_id=None,
                         case_reference="C-1", detail=detail)
        trail.record(actor="system:test", action="test.entry", case_id=7, detail=None)
    entries = session.execute(select(AuditEvent).where(AuditEvent.action == "test.entry")
                              .order_by(AuditEvent.seq)).scalars().all()
    assert len(entries) == 5
    for entry in entries:
        assert entry.hash == audit.entry_hash(entry)
    assert entries[1].detail["long"].endswith(f"[cut: {audit.MAX_TEXT + 5:,} characters]")
    assert entries[0].detail["on"] == "2026-01-10"
    assert entries[2].detail == {"3": "a number as a key"}
    assert json.loads(json.dumps(entries[0].detail)) == entries[0].detail
    assert audit.verify(session).ok
