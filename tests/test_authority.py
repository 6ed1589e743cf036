"""The authority table (SPEC.md, "Who may do what"), row by row, through the domain operations.

Each row of the table is tried by the agency it allows and by one it must refuse; a refusal names
its rule, says why for a person, and writes nothing. The attacks found by trying the product as
its users would (a provider handed supervision, a provider closing a case, an agency granting
itself a case) are here too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gapwatch import authority
from gapwatch import operations as ops
from gapwatch.errors import DomainError, Forbidden
from gapwatch.models import Agency, AuditEvent, Flag, FlagStatus, Handoff, Ownership
from gapwatch.scan import scan
from tests.support import D, act, event, load, person_and_case, region

DAY = D("2026-06-01")


def as_(agency: str | None, *, token: bool = False) -> ops.Actor:
    return ops.Actor(name=f"test:{agency}", agency=agency, token=token)


@pytest.fixture
def world(session):
    """Three cases on 1 June 2026.

    C-GAP: released from HMP Hewell on 25 May, nobody took supervision; home area WMIDS; high risk.
    C-SUP: supervised by STAFFS, with Connect mentoring by CONNECT-NACRO; home area WARKS.
    C-YOUTH: supervised by the youth service YOS-WORCS; home area WMERCIA.
    """
    region(session)
    person_and_case(session, "C-GAP", opened_on=D("2026-01-10"), risk_level="high")
    person_and_case(session, "C-SUP", opened_on=D("2026-01-10"), home_area="WARKS")
    person_and_case(session, "C-YOUTH", opened_on=D("2026-01-10"), home_area="WMERCIA",
                    born=D("2008-07-01"))
    load(
        session,
        event("C-GAP", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
        event("C-GAP", "2026-05-25", "ownership_ended", agency="HMP-HEWELL", reason="released"),
        event("C-SUP", "2026-01-10", "ownership_started", agency="STAFFS", role="supervision",
              officer="H. Clarke"),
        event("C-SUP", "2026-02-01", "handoff_requested", from_agency="STAFFS",
              to_agency="CONNECT-NACRO", role="delivery", kind="referral"),
        event("C-SUP", "2026-02-03", "handoff_accepted", to_agency="CONNECT-NACRO"),
        event("C-YOUTH", "2026-01-10", "ownership_started", agency="YOS-WORCS",
              role="supervision", officer="L. Green"),
    )
    return session


def nothing_written(session, before: tuple[int, int, int]) -> bool:
    session.rollback()
    return counts(session) == before


def counts(session) -> tuple[int, int, int]:
    return tuple(session.execute(select(func.count()).select_from(t)).scalar()
                 for t in (AuditEvent, Ownership, Handoff))


def refused(session, operation, actor, rule: str, **values) -> DomainError:
    before = counts(session)
    with pytest.raises(DomainError) as raised:
        act(session, operation, actor=actor, **values)
    assert raised.value.rule == rule, raised.value.message
    assert nothing_written(session, before)
    return raised.value


# -- who may hold which role --------------------------------------------------------------------
@pytest.mark.parametrize(("receiver", "role"), [
    ("CONNECT-NACRO", "supervision"),  # the WM-1006 fault: a provider handed supervision
    ("CONNECT-NACRO", "custody"),
    ("WMERCIA", "custody"),
    ("HMP-HEWELL", "supervision"),
    ("WMERCIA", "delivery"),
])
def test_a_handoff_to_an_agency_that_may_not_hold_the_role_is_refused(world, receiver, role):
    error = refused(world, ops.request_handoff, as_("YOS-WORCS"), "role-table", case="C-YOUTH",
                    on=DAY, from_agency="YOS-WORCS", to_agency=receiver, role=role,
                    kind="transfer" if role == "supervision" else "referral")
    assert error.status == 403 and error.field == "to_agency"
    assert error.message.startswith(f"{receiver} is a ") and f"can hold {role}" in error.message


def test_the_operators_import_still_keeps_the_role_table(world):
    error = refused(world, ops.start_ownership, ops.Actor.system("import"), "role-table",
                    case="C-SUP", on=DAY, agency="CONNECT-NACRO", role="supervision")
    assert error.message == ("CONNECT-NACRO is a provider: only a probation area or a youth "
                             "service can hold supervision")


def test_the_youth_service_hands_on_to_adult_probation(world):
    act(world, ops.request_handoff, actor=as_("YOS-WORCS"), case="C-YOUTH", on=DAY,
        from_agency="YOS-WORCS", to_agency="WMERCIA", role="supervision", kind="transfer")
    act(world, ops.accept_handoff, actor=as_("WMERCIA"), case="C-YOUTH", on=DAY,
        to_agency="WMERCIA", officer="D. Hall")
    owners = world.execute(select(Ownership.role, Ownership.officer, Ownership.ends_on)
                           .order_by(Ownership.id)).all()
    assert ("supervision", "D. Hall", None) in owners


# -- closing --------------------------------------------------------------------------------------
def test_a_provider_cannot_close_the_case_it_delivers_for(world):
    error = refused(world, ops.close_case, as_("CONNECT-NACRO"), "close-case", case="C-SUP",
                    on=DAY)
    assert error.message == ("only the agency accountable for case C-SUP can close it, and "
                             "today that is STAFFS")


def test_the_accountable_owner_closes_the_case(world):
    act(world, ops.close_case, actor=as_("STAFFS"), case="C-SUP", on=DAY)


def test_an_agency_cannot_give_itself_a_delivery_and_then_close(world):
    """The API attack: WARKS starts a delivery of its own, then closes STAFFS's case."""
    refused(world, ops.start_ownership, as_("WARKS", token=True), "role-table", case="C-SUP",
            on=DAY, agency="WARKS", role="delivery")
    refused(world, ops.close_case, as_("WARKS", token=True), "close-case", case="C-SUP", on=DAY)


# -- starting an ownership of one's own -------------------------------------------------------------
def test_an_agency_cannot_start_supervision_for_itself_outside_a_gap(world):
    error = refused(world, ops.start_ownership, as_("WARKS", token=True), "take-supervision",
                    case="C-SUP", on=DAY, agency="WARKS", role="supervision", officer="E. Wright")
    assert "not in a gap" in error.message


def test_a_provider_cannot_start_a_delivery_of_its_own_accord(world):
    refused(world, ops.start_ownership, as_("YSS"), "start-ownership", case="C-SUP", on=DAY,
            agency="YSS", role="delivery")


def test_a_prison_reports_a_reception_but_not_for_a_restricted_person_through_a_token(world):
    person_and_case(world, "C-SECRET", opened_on=D("2026-01-10"), restricted=True)
    load(world, event("C-SECRET", "2026-01-10", "ownership_started", agency="WMIDS",
                      role="supervision", officer="J. Smith"))
    refused(world, ops.start_ownership, as_("HMP-HEWELL", token=True), "start-ownership",
            case="C-SECRET", on=DAY, agency="HMP-HEWELL", role="custody")
    # A person at the prison records the reception; it does not open the details to Hewell.
    held = act(world, ops.start_ownership, actor=as_("HMP-HEWELL"), case="C-SECRET", on=DAY,
               agency="HMP-HEWELL", role="custody")
    assert held.self_started is True


# -- a gap ----------------------------------------------------------------------------------------
def test_the_home_area_takes_supervision_in_a_gap_with_an_officer(world):
    scan(world, DAY)
    gap = world.execute(select(Flag).where(Flag.rule == "no-accountable-owner")).scalar_one()
    assert gap.status == FlagStatus.open
    act(world, ops.take_supervision, actor=as_("WMIDS"), case="C-GAP", on=DAY, agency="WMIDS",
        officer="A. Khan")
    world.expire_all()
    gap = world.get(Flag, gap.id)
    assert gap.status == FlagStatus.resolved and gap.resolved_on == DAY  # at once, no scan
    resolved = world.execute(select(AuditEvent).where(AuditEvent.action == "flag.resolved")
                             ).scalar_one()
    assert resolved.actor == "test:WMIDS" and "ownership.started" in resolved.detail["cause"]


def test_taking_a_case_needs_an_officer(world):
    with pytest.raises(DomainError, match="named officer") as raised:
        act(world, ops.take_supervision, actor=as_("WMIDS"), case="C-GAP", on=DAY,
            agency="WMIDS", officer=" ")
    assert raised.value.field == "officer"


@pytest.mark.parametrize(("agency", "rule"), [
    ("HMP-HEWELL", "role-table"),  # told of the gap, but a prison cannot supervise
    ("STAFFS", "take-supervision"),  # not the home area and not told of the gap
])
def test_the_wrong_agency_cannot_take_a_gap(world, agency, rule):
    scan(world, DAY)
    refused(world, ops.take_supervision, as_(agency), rule, case="C-GAP", on=DAY, agency=agency,
            officer="Someone")


def test_the_last_owner_asks_another_agency_to_take_a_gap(world):
    act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
        from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision", kind="referral")
    act(world, ops.accept_handoff, actor=as_("WMIDS"), case="C-GAP", on=DAY, to_agency="WMIDS",
        officer="A. Khan")


def wmids_takes_the_gap_later(world, *, days: int):
    """Hewell asks WMIDS to take C-GAP from `days` days on, and WMIDS accepts today: return
    the day WMIDS takes over."""
    due = DAY.replace(day=DAY.day + days)
    act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
        from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision", kind="referral",
        due_on=due)
    act(world, ops.accept_handoff, actor=as_("WMIDS"), case="C-GAP", on=DAY, to_agency="WMIDS",
        officer="A. Khan")
    return due


def test_an_area_that_accepted_a_referral_from_its_due_day_cannot_take_the_case_again(world):
    # Hewell asks WMIDS to take C-GAP by a day ahead; WMIDS accepts, so it supervises from
    # that day. Taking the gap today as well made a second WMIDS supervision overlapping it.
    wmids_takes_the_gap_later(world, days=1)
    refused(world, ops.take_supervision, as_("WMIDS"), "take-supervision", case="C-GAP", on=DAY,
            agency="WMIDS", officer="A. Khan")
    with pytest.raises(DomainError, match="would overlap"):  # nor may an operator's import
        act(world, ops.start_ownership, actor=as_(None), case="C-GAP", on=DAY, agency="WMIDS",
            role="supervision")
    assert world.execute(select(func.count()).select_from(Ownership).where(
        Ownership.role == "supervision", Ownership.starts_on >= DAY)).scalar() == 1


def test_an_area_taking_a_gap_it_was_asked_to_take_answers_the_request(world):
    # Hewell asks WMIDS to take C-GAP by a day ahead; WMIDS takes it now instead. The request
    # stayed pending beside WMIDS's own supervision, to fall overdue as a handoff-overdue flag
    # on a case WMIDS holds (found on the demo's WM-1001 in chromium).
    due = DAY.replace(day=DAY.day + 3)
    act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
        from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision", kind="referral",
        due_on=due)
    act(world, ops.take_supervision, actor=as_("WMIDS"), case="C-GAP", on=DAY, agency="WMIDS",
        officer="A. Khan")
    handoff = world.execute(select(Handoff).where(Handoff.role == "supervision")).scalar_one()
    assert (handoff.status, handoff.decided_on) == ("withdrawn", DAY)
    assert handoff.reason == "superseded: WMIDS took supervision on 1 June 2026"
    assert world.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "handoff.withdrawn")).scalar() == 1
    scan(world, due.replace(day=due.day + 10))
    rules = world.execute(select(Flag.rule).where(Flag.status == FlagStatus.open.value)).scalars()
    assert "handoff-overdue" not in set(rules)


@pytest.mark.parametrize("closing", ["take", "accept"])
def test_once_a_gap_has_its_supervisor_the_other_asks_are_withdrawn(world, closing):
    # Hewell asks STAFFS and WMIDS to take C-GAP; once one of them supervises, the other's
    # request stayed pending, and accepting it gave the case two supervisors (found in
    # chromium on the demo's WM-1033, WM-1010 and WM-1028).
    for to in ("STAFFS", "WMIDS"):
        act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
            from_agency="HMP-HEWELL", to_agency=to, role="supervision", kind="referral")
    if closing == "take":
        act(world, ops.take_supervision, actor=as_("WMIDS"), case="C-GAP", on=DAY,
            agency="WMIDS", officer="A. Khan")
        why = "superseded: WMIDS took supervision on 1 June 2026"
    else:
        act(world, ops.accept_handoff, actor=as_("WMIDS"), case="C-GAP", on=DAY,
            to_agency="WMIDS", officer="A. Khan")
        why = "superseded: WMIDS accepted supervision from 1 June 2026"
    asked = {h.to_agency_id: h for h in world.execute(select(Handoff).where(
        Handoff.role == "supervision", Handoff.requested_on == DAY)).scalars()}
    staffs = world.execute(select(Agency.id).where(Agency.code == "STAFFS")).scalar_one()
    assert (asked[staffs].status, asked[staffs].reason) == ("withdrawn", why)
    with pytest.raises(DomainError, match="the handoff to STAFFS for case C-GAP is already withdrawn"):
        act(world, ops.accept_handoff, actor=as_("STAFFS"), case="C-GAP", on=DAY,
            to_agency="STAFFS", officer="B. Cole")


def test_an_agency_covering_a_gap_until_the_accepted_one_comes_ends_when_it_does(world):
    # WMIDS accepted C-GAP from three days on; Hewell asks STAFFS to cover meanwhile, and
    # STAFFS accepts. Its supervision was open-ended, so the two overlapped from WMIDS's day
    # (found in chromium on the demo's WM-1001: dual-ownership a week on).
    due = wmids_takes_the_gap_later(world, days=3)
    act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
        from_agency="HMP-HEWELL", to_agency="STAFFS", role="supervision", kind="referral")
    act(world, ops.accept_handoff, actor=as_("STAFFS"), case="C-GAP", on=DAY,
        to_agency="STAFFS", officer="B. Cole")
    held = sorted((a, o.starts_on, o.ends_on, o.ended_reason) for o, a in world.execute(
        select(Ownership, Agency.code).join(Agency, Agency.id == Ownership.agency_id)
        .where(Ownership.role == "supervision", Ownership.starts_on >= DAY)))
    assert held == [("STAFFS", DAY, due, "until WMIDS takes over"), ("WMIDS", due, None, None)]
    scan(world, due.replace(day=due.day + 10))
    rules = world.execute(select(Flag.rule).where(Flag.status == FlagStatus.open.value)).scalars()
    assert not {"dual-ownership", "no-accountable-owner"} & set(rules)


def test_a_request_refused_as_superseded_says_why(world):
    for to in ("STAFFS", "WMIDS"):
        act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
            from_agency="HMP-HEWELL", to_agency=to, role="supervision", kind="referral")
    act(world, ops.accept_handoff, actor=as_("WMIDS"), case="C-GAP", on=DAY, to_agency="WMIDS")
    with pytest.raises(DomainError, match=r"already withdrawn \(superseded: WMIDS accepted "
                                          r"supervision from 1 June 2026\)"):
        act(world, ops.accept_handoff, actor=as_("STAFFS"), case="C-GAP", on=DAY,
            to_agency="STAFFS")


def test_an_area_that_takes_a_case_from_a_later_day_is_not_asked_again(world):
    # The page leaves WMIDS out of its receivers once it accepted the case from its due day;
    # through the API, a second request stayed pending, to fall overdue on a case WMIDS takes.
    wmids_takes_the_gap_later(world, days=3)
    handoffs = select(func.count()).select_from(Handoff)
    before = world.execute(handoffs).scalar()
    with pytest.raises(DomainError, match="WMIDS already takes supervision of case C-GAP from 4 June 2026"):
        act(world, ops.request_handoff, actor=as_("HMP-HEWELL"), case="C-GAP", on=DAY,
            from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision", kind="referral")
    assert world.execute(handoffs).scalar() == before


def test_an_agency_with_nothing_to_do_with_a_gap_cannot_ask(world):
    refused(world, ops.request_handoff, as_("STAFFS"), "request-handoff", case="C-GAP", on=DAY,
            from_agency="STAFFS", to_agency="WARKS", role="supervision", kind="referral")


# -- ending and officers ----------------------------------------------------------------------------
@pytest.mark.parametrize(("actor", "allowed"), [
    ("CONNECT-NACRO", True),  # its own delivery
    ("STAFFS", True),  # the accountable owner ends a provider's delivery
    ("WARKS", False),
    ("YSS", False),
])
def test_who_may_end_a_delivery(world, actor, allowed):
    values = dict(case="C-SUP", on=DAY, agency="CONNECT-NACRO", role="delivery")
    if allowed:
        act(world, ops.end_ownership, actor=as_(actor), **values)
    else:
        refused(world, ops.end_ownership, as_(actor), "end-ownership", **values)


def test_a_provider_cannot_end_the_supervision_it_delivers_for(world):
    refused(world, ops.end_ownership, as_("CONNECT-NACRO"), "end-ownership", case="C-SUP",
            on=DAY, agency="STAFFS", role="supervision")


def test_only_the_holder_names_its_officer(world):
    refused(world, ops.assign_officer, as_("CONNECT-NACRO"), "assign-officer", case="C-SUP",
            on=DAY, agency="STAFFS", officer="Not theirs")
    act(world, ops.assign_officer, actor=as_("STAFFS"), case="C-SUP", on=DAY, agency="STAFFS",
        officer="New Officer")


# -- handoffs ---------------------------------------------------------------------------------------
def test_only_the_receiver_decides_and_only_the_sender_withdraws(world):
    act(world, ops.request_handoff, actor=as_("STAFFS"), case="C-SUP", on=DAY,
        from_agency="STAFFS", to_agency="WARKS", role="supervision", kind="transfer")
    refused(world, ops.accept_handoff, as_("STAFFS"), "accept-handoff", case="C-SUP", on=DAY,
            to_agency="WARKS")
    refused(world, ops.reject_handoff, as_("CONNECT-NACRO"), "reject-handoff", case="C-SUP",
            on=DAY, to_agency="WARKS", reason="no")
    refused(world, ops.withdraw_handoff, as_("WARKS"), "withdraw-handoff", case="C-SUP",
            on=DAY, to_agency="WARKS")
    act(world, ops.withdraw_handoff, actor=as_("STAFFS"), case="C-SUP", on=DAY, to_agency="WARKS")


def test_readers_change_nothing(world):
    auditor = ops.Actor(name="user:auditor", read_only=True)
    with pytest.raises(Forbidden, match="read-only"):
        act(world, ops.close_case, actor=auditor, case="C-SUP", on=DAY)


@pytest.mark.parametrize(("agency", "reader", "allowed"), [
    ("WMERCIA", False, True),  # the commissioner
    ("YSS", False, True),  # the provider: its own contract
    ("STAFFS", False, False),  # another area
    ("CONNECT-NACRO", False, False),  # another provider
    (None, False, False),  # a case manager of no agency
    (None, True, True),  # auditors (a region's lead among them) and admins
])
def test_who_may_see_a_contracts_figures(agency, reader, allowed):
    decision = authority.may_see_contract(agency, provider="YSS", commissioner="WMERCIA",
                                          reader=reader)
    assert bool(decision) is allowed
    assert decision.rule == "see-contract"
    if not allowed:
        assert decision.reason.startswith("the figures of YSS's contract with WMERCIA are for")
