"""Two people deciding at once, on real concurrent sessions: one wins, the other is told why."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from gapwatch import audit, db
from gapwatch import operations as ops
from gapwatch.errors import Conflict
from gapwatch.models import AuditEvent, Handoff, Ownership
from tests.support import D, event, load, person_and_case, region


@pytest.fixture
def pending(session):
    region(session)
    person_and_case(session)
    load(
        session,
        event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="WMIDS", role="supervision", kind="transfer", due_on="2026-06-10"),
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="STAFFS", role="supervision", kind="transfer", due_on="2026-06-10"),
    )
    return session


def race(database_url, *attempts):
    """Run each attempt in its own thread and session, released together; return the outcomes."""
    start = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        engine = db.make_engine(database_url)
        session = db.new_session(engine)
        try:
            start.wait()
            with ops.unit_of_work(session, ops.Actor(name=f"user:{index}")) as uow:
                attempt(uow)
            outcomes[index] = "ok"
        except Conflict as error:
            outcomes[index] = error.message
        finally:
            session.close()
            engine.dispose()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def accept(agency):
    return lambda uow: ops.accept_handoff(uow, case="C-1", on=D("2026-05-03"), to_agency=agency,
                                          officer="J. Smith")


def assign(officer):
    return lambda uow: ops.assign_officer(uow, case="C-1", on=D("2026-02-01"),
                                          agency="HMP-HEWELL", officer=officer)


def test_two_people_accepting_the_same_handoff_make_one_acceptance(pending, database_url):
    outcomes = race(database_url, accept("WMIDS"), accept("WMIDS"))
    assert sorted(outcomes, key=str) == [
        "cannot accept: the handoff to WMIDS for case C-1 is already accepted", "ok"]
    supervision = pending.exec(select(Ownership).where(Ownership.role == "supervision")).all()
    assert len(supervision) == 1
    accepted = pending.exec(select(AuditEvent).where(AuditEvent.action == "handoff.accepted")).all()
    assert len(accepted) == 1


def test_two_agencies_accepting_rival_transfers_at_once_make_one_owner(pending, database_url):
    outcomes = race(database_url, accept("WMIDS"), accept("STAFFS"))
    assert outcomes.count("ok") == 1
    loser = next(o for o in outcomes if o != "ok")
    assert "is already withdrawn" in loser  # superseded by the winner's transfer
    supervision = pending.exec(select(Ownership).where(Ownership.role == "supervision")).all()
    assert len(supervision) == 1
    statuses = sorted(pending.exec(select(Handoff.status)).scalars())
    assert statuses == ["accepted", "withdrawn"]


def test_the_audit_chain_stays_one_chain_under_concurrent_writers(pending, database_url):
    before = len(pending.exec(select(AuditEvent)).all())
    assert race(database_url, *[assign(f"Officer {n}") for n in range(6)]) == ["ok"] * 6
    pending.rollback()
    entries = pending.exec(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert len(entries) == before + 6
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))


def read_case(database_url, index):
    """Record a read of case C-1 in its own session, as the case page does."""
    engine = db.make_engine(database_url)
    session = db.new_session(engine)
    try:
        ops.record_read(session, ops.Actor(name=f"user:reader-{index}"), "case.viewed",
                        case_reference="C-1", details_shown=True)
    finally:
        session.close()
        engine.dispose()


def test_reads_and_writes_at_once_keep_one_intact_chain(pending, database_url):
    before = len(pending.exec(select(AuditEvent)).all())
    readers = [threading.Thread(target=read_case, args=(database_url, n)) for n in range(6)]
    for reader in readers:
        reader.start()
    assert race(database_url, *[assign(f"Officer {n}") for n in range(4)]) == ["ok"] * 4
    for reader in readers:
        reader.join(timeout=60)
    pending.rollback()
    assert len(pending.exec(select(AuditEvent)).all()) == before + 10
    verdict = audit.verify(pending)
    assert verdict.ok, verdict.message


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite has one writer at a time, by design
def test_a_read_is_recorded_while_a_long_write_is_still_deciding(pending, database_url):
    engine = db.make_engine(database_url)
    writer = db.new_session(engine)
    recorded = threading.Event()

    def read():
        read_case(database_url, 1)
        recorded.set()

    try:
        with ops.unit_of_work(writer, ops.Actor(name="user:long")) as uow:
            assign("Officer Long")(uow)  # holds the writers' lock; its entry waits unchained
            reader = threading.Thread(target=read)
            reader.start()
            assert recorded.wait(15), "recording a read waited for the writer to commit"
        reader.join(timeout=15)
    finally:
        writer.close()
        engine.dispose()
    pending.rollback()
    last = pending.exec(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(2)).scalars().all()
    assert [e.actor for e in last] == ["user:long", "user:reader-1"]  # chained in commit order
    assert audit.verify(pending).ok
