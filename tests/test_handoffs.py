"""The handoff state machine and the `effective_on` rule of SPEC.md."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from gapwatch.models import AuditEvent, Handoff, Ownership
from gapwatch.queries import load_journey
from tests.support import D, act, event, load, person_and_case, region


@pytest.fixture
def custody(session):
    """Case C-1: in HMP Hewell's custody since 10 January 2026, release due 10 June."""
    region(session)
    person_and_case(session, expected_release_on=D("2026-06-10"))
    load(session, event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                        role="custody"))
    return session


def request(session, **values):
    base = dict(case="C-1", on=D("2026-05-01"), from_agency="HMP-HEWELL", to_agency="WMIDS",
                role="supervision", kind="transfer", due_on=D("2026-06-10"))
    return act(session, ops.request_handoff, **{**base, **values})


def ownerships(session):
    journey = load_journey(session, "C-1")
    return [(o.agency, o.role, o.starts_on, o.ends_on) for o in journey.ownerships]


@pytest.mark.parametrize(
    ("decided", "due", "effective"),
    [
        ("2026-05-03", "2026-06-10", "2026-06-10"),  # accepted before it is due: starts when due
        ("2026-06-12", "2026-06-10", "2026-06-12"),  # accepted late: starts the day it is accepted
        ("2026-06-10", "2026-06-10", "2026-06-10"),  # accepted on the day
        ("2026-05-03", None, "2026-05-03"),  # no due day: starts on acceptance
    ],
)
def test_accepted_transfer_starts_on_the_effective_day_and_ends_the_sender_then(
    custody, decided, due, effective
):
    request(custody, due_on=D(due) if due else None)
    act(custody, ops.accept_handoff, case="C-1", on=D(decided), to_agency="WMIDS", officer="J. Smith")
    assert ownerships(custody) == [
        ("HMP-HEWELL", "custody", D("2026-01-10"), D(effective)),
        ("WMIDS", "supervision", D(effective), None),
    ]
    journey = load_journey(custody, "C-1")
    assert journey.gaps(D("2026-01-10"), D("2026-12-31")) == []


def test_accepted_referral_starts_an_ownership_and_ends_nothing(custody):
    request(custody, kind="referral")
    act(custody, ops.accept_handoff, case="C-1", on=D("2026-05-03"), to_agency="WMIDS")
    assert ownerships(custody) == [
        ("HMP-HEWELL", "custody", D("2026-01-10"), None),
        ("WMIDS", "supervision", D("2026-06-10"), None),
    ]


def test_delivery_transfer_ends_the_senders_delivery_not_its_supervision(session):
    region(session)
    person_and_case(session)
    load(
        session,
        event("C-1", "2026-01-10", "ownership_started", agency="WMERCIA", role="supervision"),
        event("C-1", "2026-01-10", "handoff_requested", from_agency="WMERCIA", to_agency="YSS",
              role="delivery", kind="referral"),
        event("C-1", "2026-01-12", "handoff_accepted", to_agency="YSS"),
        event("C-1", "2026-03-01", "handoff_requested", from_agency="YSS",
              to_agency="CONNECT-NACRO", role="delivery", kind="transfer"),
        event("C-1", "2026-03-02", "handoff_accepted", to_agency="CONNECT-NACRO"),
    )
    assert ownerships(session) == [
        ("WMERCIA", "supervision", D("2026-01-10"), None),
        ("YSS", "delivery", D("2026-01-12"), D("2026-03-02")),
        ("CONNECT-NACRO", "delivery", D("2026-03-02"), None),
    ]


@pytest.mark.parametrize("final", ["accept", "reject", "withdraw"])
@pytest.mark.parametrize("then", ["accept", "reject", "withdraw"])
def test_decided_handoffs_are_final(custody, final, then):
    request(custody)
    decide = {
        "accept": lambda: act(custody, ops.accept_handoff, case="C-1", on=D("2026-05-03"),
                              to_agency="WMIDS"),
        "reject": lambda: act(custody, ops.reject_handoff, case="C-1", on=D("2026-05-03"),
                              to_agency="WMIDS", reason="not our area"),
        "withdraw": lambda: act(custody, ops.withdraw_handoff, case="C-1", on=D("2026-05-03"),
                                to_agency="WMIDS"),
    }
    decide[final]()
    status = {"accept": "accepted", "reject": "rejected", "withdraw": "withdrawn"}[final]
    with pytest.raises(Conflict, match=f"the handoff to WMIDS for case C-1 is already {status}"):
        decide[then]()


def test_only_one_pending_handoff_to_an_agency(custody):
    request(custody)
    with pytest.raises(Conflict, match="already has a pending handoff to WMIDS"):
        request(custody, kind="referral")
    assert len(custody.exec(select(Handoff)).all()) == 1


def test_a_rejected_handoff_can_be_asked_again_as_a_new_handoff(custody):
    request(custody)
    act(custody, ops.reject_handoff, case="C-1", on=D("2026-05-02"), to_agency="WMIDS",
        reason="lives in Worcester")
    second = request(custody, on=D("2026-05-04"))
    assert second.status == "pending"
    assert [h.status for h in custody.exec(select(Handoff).order_by(Handoff.id)).scalars()] == [
        "rejected", "pending"]


def test_accept_with_nothing_pending_is_refused(custody):
    with pytest.raises(NotFound, match="case C-1 has no pending handoff to WMIDS"):
        act(custody, ops.accept_handoff, case="C-1", on=D("2026-05-03"), to_agency="WMIDS")


def test_transfer_from_an_agency_that_does_not_own_the_case_is_refused(custody):
    with pytest.raises(DomainError, match="WMERCIA cannot transfer case C-1"):
        request(custody, from_agency="WMERCIA")


def test_only_the_receiver_decides_and_only_the_sender_withdraws(custody):
    request(custody)
    prison = ops.Actor(name="user:omu@hewell.example", agency="HMP-HEWELL")
    wmids = ops.Actor(name="user:duty@wmids.example", agency="WMIDS")
    with pytest.raises(Forbidden, match="only WMIDS can accept"):
        act(custody, ops.accept_handoff, actor=prison, case="C-1", on=D("2026-05-03"),
            to_agency="WMIDS")
    with pytest.raises(Forbidden, match="only HMP-HEWELL can withdraw"):
        act(custody, ops.withdraw_handoff, actor=wmids, case="C-1", on=D("2026-05-03"),
            to_agency="WMIDS")
    act(custody, ops.accept_handoff, actor=wmids, case="C-1", on=D("2026-05-03"),
        to_agency="WMIDS")


def test_auditors_change_nothing(custody):
    auditor = ops.Actor(name="user:inspector@hmip.example", read_only=True)
    with pytest.raises(Forbidden, match="read-only"):
        act(
            custody, ops.request_handoff, actor=auditor, case="C-1", on=D("2026-05-01"),
            from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision", kind="referral")


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"due_on": D("2026-04-01")}, InvalidInput, "the due day, 1 April 2026, is before the request day"),
        ({"to_agency": "HMP-HEWELL", "role": "custody"}, InvalidInput, "cannot hand case C-1 to itself"),
        ({"to_agency": "NOWHERE"}, NotFound, "unknown agency 'NOWHERE'"),
        ({"role": "lunch"}, InvalidInput, "role 'lunch' is not one of"),
        ({"on": D("2025-12-01")}, DomainError, "it was opened on 10 January 2026"),
        ({"from_agency": None}, InvalidInput, "a transfer needs a sending agency"),
    ],
)
def test_requests_that_make_no_sense_are_refused(custody, values, error, message):
    with pytest.raises(error, match=message):
        request(custody, **values)


def test_a_decision_cannot_predate_its_request(custody):
    request(custody)
    with pytest.raises(DomainError, match="the handoff was requested on 1 May 2026"):
        act(custody, ops.accept_handoff, case="C-1", on=D("2026-04-30"), to_agency="WMIDS")


def test_a_refused_operation_writes_nothing(custody):
    before = custody.exec(select(AuditEvent)).all()
    with pytest.raises(DomainError), ops.unit_of_work(custody, ops.Actor.system("test")) as uow:
        ops.request_handoff(uow, case="C-1", on=D("2026-05-01"), from_agency="HMP-HEWELL",
                            to_agency="WMIDS", role="supervision", kind="referral")
        ops.accept_handoff(uow, case="C-1", on=D("2026-04-01"), to_agency="WMIDS")
    assert custody.exec(select(Handoff)).all() == []
    assert len(custody.exec(select(AuditEvent)).all()) == len(before)


def test_every_operation_is_audited_with_who_what_and_the_case(custody):
    request(custody)
    act(custody, ops.accept_handoff, case="C-1", on=D("2026-05-03"), to_agency="WMIDS",
        actor=ops.Actor(name="user:duty@wmids.example", agency="WMIDS"))
    entry = custody.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars().first()
    assert (entry.actor, entry.action, entry.case_reference) == (
        "user:duty@wmids.example", "handoff.accepted", "C-1")
    assert entry.detail["before"]["status"] == "pending"
    assert entry.detail["after"]["status"] == "accepted"
    assert entry.detail["effective_on"] == "2026-06-10"


def test_ending_an_ownership_that_is_not_active_is_refused(custody):
    with pytest.raises(Conflict, match="WMIDS has no ownership of case C-1 active on 10 June 2026"):
        act(custody, ops.end_ownership, case="C-1", on=D("2026-06-10"), agency="WMIDS")
    with pytest.raises(Conflict, match="HMP-HEWELL has no ownership of case C-1 active on 9 January 2026"):
        act(custody, ops.end_ownership, case="C-1", on=D("2026-01-09"), agency="HMP-HEWELL")


def test_closing_a_case_ends_ownerships_and_withdraws_pending_handoffs(custody):
    request(custody)
    act(custody, ops.close_case, case="C-1", on=D("2026-05-20"))
    assert ownerships(custody) == [("HMP-HEWELL", "custody", D("2026-01-10"), D("2026-05-20"))]
    assert custody.exec(select(Handoff.status)).scalars().all() == ["withdrawn"]
    with pytest.raises(Conflict, match="it was closed on 20 May 2026"):
        request(custody, on=D("2026-05-21"))


def test_ownership_ids_link_to_their_handoff(custody):
    handoff = request(custody)
    act(custody, ops.accept_handoff, case="C-1", on=D("2026-05-03"), to_agency="WMIDS")
    started = custody.exec(select(Ownership).where(Ownership.handoff_id == handoff.id)).scalar_one()
    assert started.role == "supervision"


def test_accepting_a_transfer_whose_sender_was_replaced_is_refused(custody):
    request(custody, kind="transfer", to_agency="STAFFS")
    load(custody,
         event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"),
         event("C-1", "2026-06-10", "ownership_started", agency="WMIDS", role="supervision"))
    with pytest.raises(Conflict, match="held in supervision by WMIDS since 2026-06-10, so the "
                                       "transfer from HMP-HEWELL is out of date"):
        act(custody, ops.accept_handoff, case="C-1", on=D("2026-06-11"), to_agency="STAFFS")


def test_a_late_transfer_after_a_release_still_closes_the_gap(custody):
    request(custody)
    load(custody, event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL",
                        reason="released"))
    act(custody, ops.accept_handoff, case="C-1", on=D("2026-06-15"), to_agency="WMIDS")
    assert ownerships(custody)[-1] == ("WMIDS", "supervision", D("2026-06-15"), None)
