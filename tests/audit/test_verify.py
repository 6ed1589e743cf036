"""The audit trail's hash chain: intact it verifies; changed, removed or inserted it names the entry."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gapwatch import audit
from gapwatch.models import AuditEvent
from tests.audit.conftest import tampering


def count(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def test_an_untouched_chain_verifies_with_its_head(journey):
    verdict = audit.verify(journey)
    head = journey.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())).first()
    assert verdict.ok
    assert (verdict.entries, verdict.head_seq, verdict.head_hash) == (count(journey), *head)


def test_verification_reads_in_chunks_and_still_sees_every_entry(journey):
    assert audit.verify(journey, chunk=2).entries == count(journey)


def test_an_empty_trail_verifies(session):
    assert audit.verify(session) == audit.Verdict(0, 0, audit.GENESIS, message=audit.verify(session).message)


@pytest.mark.parametrize("statement", [
    "UPDATE auditevent SET actor = 'someone else' WHERE seq = 3",
    "DELETE FROM auditevent WHERE seq = 3",
])
def test_the_table_refuses_updates_and_deletes(journey, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        journey.execute(text(statement))
    journey.rollback()
    assert audit.verify(journey).ok


@pytest.mark.parametrize("column", ["actor", "action", "case_reference", "detail", "at"])
def test_a_changed_entry_is_named(journey, column):
    value = {
        "actor": "'user:nobody@example'",
        "action": "'case.viewed'",
        "case_reference": "'C-2'",
        "detail": "'{}'",
        "at": "at - interval '1 day'" if journey.bind.dialect.name == "postgresql"
        else "'2026-01-01 00:00:00.000000'",
    }[column]
    if column == "detail" and journey.bind.dialect.name == "postgresql":
        value = "'{}'::json"
    with tampering(journey) as session:
        session.execute(text(f"UPDATE auditevent SET {column} = {value} WHERE seq = 4"))
    verdict = audit.verify(journey)
    assert (verdict.ok, verdict.broken_seq, verdict.problem) == (False, 4, "changed")
    assert verdict.message.startswith("entry 4 (")


def test_a_changed_entry_with_a_recomputed_hash_is_named_by_the_broken_link(journey):
    entry = journey.execute(select(AuditEvent).where(AuditEvent.seq == 4)).scalar_one()
    entry.actor = "user:nobody@example"
    forged = audit.entry_hash(entry)
    journey.rollback()
    with tampering(journey) as session:
        session.execute(text("UPDATE auditevent SET actor = 'user:nobody@example', hash = :h "
                             "WHERE seq = 4"), {"h": forged})
    verdict = audit.verify(journey)
    assert (verdict.broken_seq, verdict.problem) == (4, "changed")
    assert "entry 5 does not link" in verdict.message


def test_a_removed_entry_is_named(journey):
    with tampering(journey) as session:
        session.execute(text("DELETE FROM auditevent WHERE seq = 3"))
    verdict = audit.verify(journey)
    assert (verdict.broken_seq, verdict.problem) == (3, "removed")
    assert verdict.message == "entry 3 is missing: removed (the chain jumps to 4)"


def test_the_removed_first_entry_is_named(journey):
    with tampering(journey) as session:
        session.execute(text("DELETE FROM auditevent WHERE seq = 1"))
    assert (audit.verify(journey).broken_seq, audit.verify(journey).problem) == (1, "removed")


def _renumber_from(session, seq: int) -> None:
    """Shift entries `seq` and later up by one (through negatives, so `seq` stays unique)."""
    session.execute(text("UPDATE auditevent SET seq = -(seq + 1) WHERE seq >= :s"), {"s": seq})
    session.execute(text("UPDATE auditevent SET seq = -seq WHERE seq < 0"))


@pytest.mark.parametrize("forge_hash", [True, False])
def test_an_inserted_entry_is_named(journey, forge_hash):
    before = journey.execute(select(AuditEvent).where(AuditEvent.seq == 4)).scalar_one()
    fake = AuditEvent(seq=5, at=before.at, actor="user:forger@example", action="handoff.accepted",
                      case_id=before.case_id, case_reference="C-1", detail={"forged": True},
                      prev_hash=before.hash, hash="0" * 64)
    if forge_hash:
        fake.hash = audit.entry_hash(fake)
    journey.expunge(before)
    journey.rollback()
    with tampering(journey) as session:
        _renumber_from(session, 5)
        session.add(fake)
        session.flush()
    verdict = audit.verify(journey)
    assert (verdict.broken_seq, verdict.problem) == (5, "inserted")
    assert "entry 5" in verdict.message and "inserted" in verdict.message


def test_an_entry_appended_with_a_wrong_hash_is_named(journey):
    head_seq, head_hash = audit.chain_head(journey)
    with tampering(journey) as session:
        session.execute(text(
            "INSERT INTO auditevent (seq, at, actor, action, detail, prev_hash, hash) "
            "VALUES (:seq, :at, 'user:forger@example', 'case.viewed', '{}', :prev, :hash)"
        ), {"seq": head_seq + 1, "at": audit.clock.now(), "prev": head_hash, "hash": "f" * 64})
    verdict = audit.verify(journey)
    assert (verdict.broken_seq, verdict.problem) == (head_seq + 1, "changed")
