"""Linking two person records: audited, reversible, and the rules then see one journey."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.errors import Conflict, Forbidden, NotFound
from gapwatch.forecast import forecast
from gapwatch.linkage import Reason, Scored
from gapwatch.models import AuditEvent, Case, Flag, LinkProposal, Person, PersonLink
from gapwatch.scan import scan
from tests.support import D, act, event, load, person_and_case

PRISON_RECORD, PROBATION_RECORD = "P-C-1", "P-C-9"


@pytest.fixture
def twins(world):
    """C-1: HMP Hewell's record, released on 10 June. C-9: WMIDS's record of the same person,
    opened on 1 May, with nobody holding it."""
    person_and_case(world, "C-1", expected_release_on=D("2026-06-10"))
    person_and_case(world, "C-9", opened_on=D("2026-05-01"))
    load(world,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody"),
         event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"))
    return world


def link(session, actor=None, **values):
    values = {"first": PRISON_RECORD, "second": PROBATION_RECORD, "on": D("2026-05-02"),
              "reason": "same PNC on paper", **values}
    return act(session, ops.link_persons, actor=actor, **values)


def gaps(found, day):
    return {(f.case, f.since, f.notify) for f in found(day, "no-accountable-owner")}


def test_a_release_on_one_record_and_no_owner_on_its_twin_is_one_gap(twins, found):
    # Apart, the probation record looks owner-less from the day it opened, and the prison's
    # record looks fine until the release.
    assert gaps(found, "2026-06-01") == {("C-9", D("2026-05-01"), ("WMIDS",))}
    link(twins)
    # Linked, the person was in custody until 10 June: the gap is the release nobody took up.
    assert gaps(found, "2026-06-01") == set()
    assert gaps(found, "2026-06-10") == {("C-1", D("2026-06-10"), ("HMP-HEWELL", "WMIDS"))}


def test_two_areas_holding_the_two_records_is_dual_ownership(twins, found):
    load(twins, event("C-1", "2026-06-10", "ownership_started", agency="WMIDS",
                      role="supervision"),
         event("C-9", "2026-06-10", "ownership_started", agency="STAFFS", role="supervision"))
    assert found("2026-06-20", "dual-ownership") == []
    link(twins)
    [finding] = found("2026-06-20", "dual-ownership")
    assert finding.case == "C-1" and set(finding.notify) == {"WMIDS", "STAFFS"}


def test_linking_is_audited_rewrites_neither_record_and_unlinking_undoes_it(twins, found):
    before = twins.execute(select(Person.reference, Person.given_name, Person.date_of_birth)
                           .order_by(Person.id)).all()
    made = link(twins)
    with pytest.raises(Conflict, match="already linked"):
        link(twins)
    act(twins, ops.unlink_persons, first=PROBATION_RECORD, second=PRISON_RECORD,
        on=D("2026-06-15"), reason="two brothers, checked with the prison")
    assert gaps(found, "2026-06-01") == {("C-9", D("2026-05-01"), ("WMIDS",))}
    row = twins.execute(select(PersonLink)).scalar_one()
    assert (row.id, row.unlinked_on, row.unlink_reason) == (
        made.id, D("2026-06-15"), "two brothers, checked with the prison")
    actions = twins.execute(select(AuditEvent.action, AuditEvent.detail)
                            .where(AuditEvent.action.like("person.%link%"))).all()
    assert [a for a, _d in actions] == ["person.linked", "person.unlinked"]
    assert actions[0][1]["persons"] == [PRISON_RECORD, PROBATION_RECORD]
    assert twins.execute(select(Person.reference, Person.given_name, Person.date_of_birth)
                         .order_by(Person.id)).all() == before
    with pytest.raises(NotFound, match="not linked"):
        act(twins, ops.unlink_persons, first=PRISON_RECORD, second=PROBATION_RECORD,
            on=D("2026-06-16"), reason="again")


@pytest.mark.parametrize(("actor", "refused"), [
    (ops.Actor(name="user:duty@staffs.example", agency="STAFFS"), "STAFFS holds none"),
    (ops.Actor(name="user:auditor@example", read_only=True), "read-only"),
])
def test_only_an_agency_holding_a_case_of_either_may_link(twins, actor, refused):
    with pytest.raises(Forbidden, match=refused):
        link(twins, actor=actor)
    prison = ops.Actor(name="user:omu@hewell.example", agency="HMP-HEWELL")
    assert link(twins, actor=prison).linked_by == "user:omu@hewell.example"


def propose(session, probability=0.97):
    a, b = (session.execute(select(Person.id).where(Person.reference == r)).scalar_one()
            for r in (PRISON_RECORD, PROBATION_RECORD))
    pair = Scored(a, b, probability, 5.0, (Reason("name", "the same names", 9.0),))
    with ops.unit_of_work(session, ops.Actor.system("link")) as uow:
        return ops.record_linkage(uow, model={"comparisons": []}, pairs=[pair], persons=2,
                                  threshold=0.9, splink_version="test", on=D("2026-05-03"))


def test_a_proposal_flags_both_records_until_it_is_decided(twins, found):
    assert propose(twins)["proposed"] == 1
    flagged = found("2026-05-05", "possible-same-person")
    assert {(f.case, f.since) for f in flagged} == {("C-1", D("2026-05-03")),
                                                  ("C-9", D("2026-05-03"))}
    assert all("Sam" not in f.message and "Example" not in f.message for f in flagged)
    scan(twins, D("2026-05-05"))
    proposal = twins.execute(select(LinkProposal)).scalar_one()
    act(twins, ops.decide_proposal, proposal_id=proposal.id, confirm=False,
        on=D("2026-05-06"), note="different mothers' names")
    # The decision resolved both flags at once, before its unit of work committed.
    assert open_flags(twins, "possible-same-person") == set()
    result = scan(twins, D("2026-05-06"))
    assert result.resolved == 0 and found("2026-05-06", "possible-same-person") == []
    assert propose(twins)["decided"] == 1  # a rejected pair is never proposed again


def test_confirming_a_proposal_links_the_pair(twins, found):
    propose(twins)
    proposal = twins.execute(select(LinkProposal)).scalar_one()
    act(twins, ops.decide_proposal, proposal_id=proposal.id, confirm=True, on=D("2026-05-06"))
    link_row = twins.execute(select(PersonLink)).scalar_one()
    assert link_row.proposal_id == proposal.id and link_row.linked_by == "system:test"
    with pytest.raises(Conflict, match="already confirmed"):
        act(twins, ops.decide_proposal, proposal_id=proposal.id, confirm=False,
            on=D("2026-05-07"))
    assert gaps(found, "2026-06-10") == {("C-1", D("2026-06-10"), ("HMP-HEWELL", "WMIDS"))}


def open_flags(session, rule):
    return set(session.execute(
        select(Case.reference, Flag.since).join(Case, Case.id == Flag.case_id)
        .where(Flag.rule == rule, Flag.status == "open")).all())


def test_a_link_and_an_unlink_recheck_the_flags_of_both_records_at_once(twins):
    scan(twins, D("2026-06-01"))
    assert open_flags(twins, "no-accountable-owner") == {("C-9", D("2026-05-01"))}
    link(twins, on=D("2026-06-01"))
    # One journey: the person was in custody all along, so the probation record's gap resolved
    # with the link, not at the next scan, and the audit names the link as its cause.
    assert open_flags(twins, "no-accountable-owner") == set()
    cause = twins.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "flag.resolved")).scalar_one()["cause"]
    assert cause == ["person.linked"]
    act(twins, ops.unlink_persons, first=PRISON_RECORD, second=PROBATION_RECORD,
        on=D("2026-06-02"), reason="two brothers")
    # Apart again, the probation record has had nobody since it opened.
    assert open_flags(twins, "no-accountable-owner") == {("C-9", D("2026-05-01"))}


def test_a_link_raises_the_joined_journeys_flags_at_once(twins):
    # Each record has its own area supervising it since 1 June: apart, nothing is wrong.
    load(twins, event("C-1", "2026-06-01", "ownership_started", agency="WMIDS",
                      role="supervision"),
         event("C-9", "2026-06-01", "ownership_started", agency="STAFFS", role="supervision"))
    scan(twins, D("2026-06-12"))
    assert open_flags(twins, "dual-ownership") == set()
    link(twins, on=D("2026-06-12"))
    # One person, two areas each supervising a record of them: dual ownership, raised by the
    # link itself (overlapping for seven days from 1 June: since 7 June).
    assert open_flags(twins, "dual-ownership") == {("C-1", D("2026-06-07"))}


def test_a_new_proposal_flags_both_records_at_once(twins):
    scan(twins, D("2026-05-02"))
    propose(twins)
    assert open_flags(twins, "possible-same-person") == {("C-1", D("2026-05-03")),
                                                        ("C-9", D("2026-05-03"))}


def test_a_link_rechecks_every_record_of_the_joined_groups(twins):
    # C-5, a third record, is already linked with C-9: one journey, with nobody on it.
    person_and_case(twins, "C-5", opened_on=D("2026-05-01"))
    link(twins, first=PROBATION_RECORD, second="P-C-5", on=D("2026-05-02"))
    scan(twins, D("2026-06-01"))
    assert open_flags(twins, "no-accountable-owner") == {("C-9", D("2026-05-01"))}
    # Linking the prison's record to C-5 joins C-9 too (in custody all along): C-9's flag,
    # two links away from the records linked, resolves at once.
    link(twins, first=PRISON_RECORD, second="P-C-5", on=D("2026-06-01"))
    assert open_flags(twins, "no-accountable-owner") == set()


def test_closing_one_record_rechecks_its_linked_group_at_once(twins):
    # One person, two areas each supervising a record of them: dual ownership on the lead, C-1.
    load(twins, event("C-1", "2026-06-01", "ownership_started", agency="WMIDS",
                      role="supervision"),
         event("C-9", "2026-06-01", "ownership_started", agency="STAFFS", role="supervision"))
    scan(twins, D("2026-06-12"))
    link(twins, on=D("2026-06-12"))
    assert open_flags(twins, "dual-ownership") == {("C-1", D("2026-06-07"))}
    # STAFFS closes its record: the group's journey is C-1's alone, and the lead's flag
    # resolves with the closing, not at the next scan.
    load(twins, event("C-9", "2026-06-13", "case_closed"))
    assert open_flags(twins, "dual-ownership") == set()


def test_a_linked_person_with_two_open_cases_carries_a_proposal_once(twins):
    # C-5's person has a second open case, C-6, and is linked to the prison's record: one
    # journey of three cases, on the lead C-1. Splink then proposes C-5's person and C-9's.
    person_and_case(twins, "C-5", opened_on=D("2026-05-01"))
    load(twins, {"type": "case", "reference": "C-6", "person": "P-C-5", "opened_on": "2026-05-01",
                 "risk_level": "high"})
    link(twins, second="P-C-5", on=D("2026-05-02"))
    scan(twins, D("2026-05-02"))
    a, b = (twins.execute(select(Person.id).where(Person.reference == r)).scalar_one()
            for r in ("P-C-5", PROBATION_RECORD))
    with ops.unit_of_work(twins, ops.Actor.system("link")) as uow:
        ops.record_linkage(uow, model={"comparisons": []}, persons=3, threshold=0.9,
                           pairs=[Scored(a, b, 0.97, 5.0, (Reason("name", "the same", 9.0),))],
                           splink_version="test", on=D("2026-05-03"))
    # Both of that person's cases carry the proposal into the lead's journey: one flag, not two
    # (which the flags' unique key refused, failing the proposal's unit of work).
    assert open_flags(twins, "possible-same-person") == {("C-1", D("2026-05-03")),
                                                        ("C-9", D("2026-05-03"))}
    assert scan(twins, D("2026-05-04")).opened == 0


def test_a_gap_coming_on_a_linked_group_is_forecast_once_on_its_lead(twins):
    # WMIDS, supervising C-9, the probation record, asked YSS for a programme due on 5 June.
    # Linked, the two records are one journey on the lead, C-1, which the scan flags alone.
    load(twins, event("C-9", "2026-05-10", "ownership_started", agency="WMIDS",
                      role="supervision"),
         event("C-9", "2026-05-20", "handoff_requested", from_agency="WMIDS",
                      to_agency="YSS", role="delivery", kind="referral", due_on="2026-06-05"))
    link(twins)
    coming = forecast(twins, D("2026-06-01"), days=7).coming
    overdue = {(c.finding.case, c.day) for c in coming if c.finding.rule == "handoff-overdue"}
    assert overdue == {("C-1", D("2026-06-06"))}
    found = {(f.case, f.rule) for f in scan(twins, D("2026-06-06"), dry_run=True).findings}
    assert ("C-1", "handoff-overdue") in found and ("C-9", "handoff-overdue") not in found
