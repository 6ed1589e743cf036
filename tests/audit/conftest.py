"""Fixtures for the auditors' tests: a case with a journey, and a way to tamper with the trail."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import text

from gapwatch import operations as ops
from tests.support import D, act, event, load, person_and_case, region


@pytest.fixture
def journey(session):
    """Case C-1: custody at HMP Hewell, a rejected then accepted handoff to WMIDS, a gap."""
    region(session)
    person_and_case(session, expected_release_on=D("2026-06-10"))
    load(
        session,
        event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
        event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
              to_agency="WMERCIA", role="supervision", kind="transfer", due_on="2026-06-10"),
        event("C-1", "2026-05-02", "handoff_rejected", to_agency="WMERCIA",
              reason="lives in Birmingham"),
        event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"),
        event("C-1", "2026-06-12", "handoff_requested", from_agency=None, to_agency="WMIDS",
              role="supervision", kind="referral"),
        event("C-1", "2026-06-15", "handoff_accepted", to_agency="WMIDS", officer="J. Smith"),
    )
    act(session, ops.assign_officer, case="C-1", on=D("2026-06-20"), agency="WMIDS",
        officer="A. Patel")
    return session


@contextmanager
def tampering(session):
    """Lift the table's append-only trigger, as an attacker with the owner's rights would."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("ALTER TABLE auditevent DISABLE TRIGGER auditevent_append_only"))
        try:
            yield session
            session.commit()
        finally:
            session.rollback()
            session.execute(text("ALTER TABLE auditevent ENABLE TRIGGER auditevent_append_only"))
            session.commit()
    else:
        session.execute(text("DROP TRIGGER auditevent_no_update"))
        session.execute(text("DROP TRIGGER auditevent_no_delete"))
        yield session
        session.commit()


@pytest.fixture
def flagged(journey):
    """The journey scanned in its gap (a no-accountable-owner flag), acknowledged, then resolved."""
    from gapwatch.operations.flags import acknowledge_flag
    from gapwatch.scan import scan

    scan(journey, D("2026-06-12"))
    flag_id = journey.execute(text("SELECT id FROM flag")).scalar_one()
    act(journey, acknowledge_flag, flag_id=flag_id, on=D("2026-06-13"),
        note="=calling WMIDS duty officer", actor=ops.Actor(name="user:cm@wmids.example",
                                                            agency="WMIDS"))
    scan(journey, D("2026-06-16"))
    return journey
