"""The scan's flags: one per (case, rule, subject), opened, refreshed, resolved, acknowledged,
snoozed and reopened, every change audited, and nothing written twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gapwatch import operations as ops
from gapwatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from gapwatch.models import AuditEvent, Flag, FlagAcknowledgement
from gapwatch.scan import scan
from gapwatch.seen import seen_on, seen_through
from tests.support import D, act, event, load, person_and_case, region


@pytest.fixture
def overdue(session):
    """C-1: HMP Hewell asked WMIDS to supervise from 10 June; WMIDS has not answered."""
    region(session)
    person_and_case(session, expected_release_on=D("2026-06-10"))
    load(session,
         event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody",
               officer="A. Officer"),
         event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
               to_agency="WMIDS", role="supervision", kind="referral", due_on="2026-06-10"))
    return session


def flags(session) -> list[tuple]:
    """Each flag's rule, status, severity, since, first and last day seen (as the API says it,
    `gapwatch.seen`) and day resolved."""
    session.expire_all()
    through = seen_through(session)
    return [(f.rule, f.status, f.severity, f.since, f.first_seen_on,
             seen_on(f.last_seen_on, f.status, through), f.resolved_on)
            for f in session.execute(select(Flag).order_by(Flag.id)).scalars()]


def audit(session) -> list[tuple]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.actor, AuditEvent.case_reference)
        .where(AuditEvent.action.like("flag.%")).order_by(AuditEvent.seq))
    return [tuple(r) for r in rows]


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar()


def the_flag(session) -> Flag:
    session.expire_all()
    return session.execute(select(Flag)).scalar_one()


def test_a_finding_opens_a_flag_and_a_later_scan_refreshes_it(overdue):
    result = scan(overdue, D("2026-06-11"))
    assert (result.cases, result.found, result.opened, result.resolved) == (1, 1, 1, 0)
    assert flags(overdue) == [("handoff-overdue", "open", "medium", D("2026-06-11"),
                               D("2026-06-11"), D("2026-06-11"), None)]
    scan(overdue, D("2026-06-12"))
    assert flags(overdue) == [("handoff-overdue", "open", "medium", D("2026-06-11"),
                               D("2026-06-11"), D("2026-06-12"), None)]
    assert audit(overdue) == [("flag.opened", "system:scan", "C-1")]


def test_a_change_of_severity_is_audited(overdue):
    scan(overdue, D("2026-06-11"))
    scan(overdue, D("2026-06-17"))
    assert flags(overdue)[0][2] == "high"
    assert [a[0] for a in audit(overdue)] == ["flag.opened", "flag.refreshed"]


def test_a_second_scan_of_the_same_day_changes_nothing(overdue):
    first = scan(overdue, D("2026-06-11"))
    before = (flags(overdue), count(overdue, AuditEvent))
    second = scan(overdue, D("2026-06-11"))
    assert (second.opened, second.resolved, second.refreshed) == (0, 0, 0)
    assert second.as_json()["findings"] == first.as_json()["findings"]
    assert (flags(overdue), count(overdue, AuditEvent)) == before


def test_a_finding_that_no_longer_holds_is_resolved_and_can_reopen(overdue):
    scan(overdue, D("2026-06-11"))
    load(overdue, event("C-1", "2026-06-12", "handoff_accepted", to_agency="WMIDS"))
    # The flag follows the journey: the accept resolved it, so the day's scan has nothing to do.
    assert flags(overdue)[0][1:] == ("resolved", "medium", D("2026-06-11"), D("2026-06-11"),
                                     D("2026-06-11"), D("2026-06-12"))
    assert scan(overdue, D("2026-06-12")).resolved == 0
    assert scan(overdue, D("2026-06-13")).resolved == 0
    assert [a[0] for a in audit(overdue)] == ["flag.opened", "flag.resolved"]


def test_a_flag_resolved_after_days_unread_was_last_seen_on_the_last_day_scanned(overdue):
    """The scans of 12 to 14 June do not read C-1 (nothing changes before 17 June) and write
    nothing to its flag; resolved on 15 June, it was last seen on 14 June."""
    scan(overdue, D("2026-06-11"))
    for day in ("2026-06-12", "2026-06-13", "2026-06-14"):
        assert scan(overdue, D(day)).found == 1
    overdue.expire_all()
    assert overdue.execute(select(Flag.last_seen_on)).scalar_one() == D("2026-06-11")  # stored
    assert flags(overdue)[0][5] == D("2026-06-14")  # as the API and the exports say it
    load(overdue, event("C-1", "2026-06-15", "handoff_accepted", to_agency="WMIDS"))
    assert flags(overdue)[0][1:] == ("resolved", "medium", D("2026-06-11"), D("2026-06-11"),
                                     D("2026-06-14"), D("2026-06-15"))


def test_a_closed_case_has_its_flags_resolved_and_raises_no_more(overdue):
    scan(overdue, D("2026-06-11"))
    load(overdue, event("C-1", "2026-06-12", "case_closed"))
    assert flags(overdue)[0][1] == "resolved"  # at the closing, not the next scan
    result = scan(overdue, D("2026-06-12"))
    assert (result.cases, result.found, result.resolved) == (0, 0, 0)
    assert scan(overdue, D("2026-07-01")).found == 0


WMIDS = ops.Actor(name="user:duty@wmids.example", agency="WMIDS")
HEWELL = ops.Actor(name="user:omu@hewell.example", agency="HMP-HEWELL")


def acknowledgements(session) -> list[tuple]:
    session.expire_all()
    return session.execute(
        select(FlagAcknowledgement.agency, FlagAcknowledgement.note,
               FlagAcknowledgement.acknowledged_by, FlagAcknowledgement.snoozed_until)
        .order_by(FlagAcknowledgement.agency)).all()


def test_an_acknowledged_flag_stays_acknowledged_while_the_condition_holds(overdue):
    scan(overdue, D("2026-06-11"))
    for actor in (WMIDS, HEWELL):
        act(overdue, ops.acknowledge_flag, actor=actor, flag_id=the_flag(overdue).id,
            on=D("2026-06-11"), note="Officer reviewing the release address")
    scan(overdue, D("2026-06-20"))
    flag = the_flag(overdue)
    assert (flag.status, flag.severity) == ("acknowledged", "high")
    assert acknowledgements(overdue) == [
        ("HMP-HEWELL", "Officer reviewing the release address", "omu@hewell.example", None),
        ("WMIDS", "Officer reviewing the release address", "duty@wmids.example", None)]
    assert [a[:2] for a in audit(overdue)] == [
        ("flag.opened", "system:scan"), ("flag.acknowledged", "user:duty@wmids.example"),
        ("flag.acknowledged", "user:omu@hewell.example"), ("flag.refreshed", "system:scan")]


def test_one_agencys_acknowledgement_leaves_the_flag_open_for_the_others(overdue):
    scan(overdue, D("2026-06-11"))
    act(overdue, ops.acknowledge_flag, actor=WMIDS, flag_id=the_flag(overdue).id,
        on=D("2026-06-11"), note="chasing the panel")
    assert the_flag(overdue).status == "open"  # HMP-HEWELL has said nothing yet
    assert acknowledgements(overdue) == [("WMIDS", "chasing the panel", "duty@wmids.example",
                                          None)]


def test_a_snoozed_flag_reopens_after_its_snooze_day_if_the_condition_holds(overdue):
    scan(overdue, D("2026-06-11"))
    act(overdue, ops.acknowledge_flag, actor=WMIDS, flag_id=the_flag(overdue).id,
        on=D("2026-06-11"), note="Waiting for the area's panel", snooze_until=D("2026-06-14"))
    act(overdue, ops.acknowledge_flag, actor=HEWELL, flag_id=the_flag(overdue).id,
        on=D("2026-06-11"), note="WMIDS is deciding")
    scan(overdue, D("2026-06-14"))
    assert the_flag(overdue).status == "acknowledged"
    result = scan(overdue, D("2026-06-15"))
    flag = the_flag(overdue)
    assert (result.reopened, flag.status) == (1, "open")
    assert [a[0] for a in acknowledgements(overdue)] == ["HMP-HEWELL"]  # WMIDS's snooze ended
    assert result.as_json()["summary"]["opened"] == 1
    assert audit(overdue)[-1][0] == "flag.reopened"


def test_a_snoozed_flag_whose_condition_ended_is_resolved(overdue):
    scan(overdue, D("2026-06-11"))
    act(overdue, ops.acknowledge_flag, actor=WMIDS, flag_id=the_flag(overdue).id,
        on=D("2026-06-11"), note="chasing", snooze_until=D("2026-06-14"))
    load(overdue, event("C-1", "2026-06-13", "handoff_accepted", to_agency="WMIDS"))
    scan(overdue, D("2026-06-15"))
    assert the_flag(overdue).status == "resolved"


def test_a_dry_run_writes_nothing(overdue):
    before = count(overdue, AuditEvent)
    result = scan(overdue, D("2026-06-11"), dry_run=True)
    assert (result.found, result.opened) == (1, 1)
    assert (flags(overdue), count(overdue, AuditEvent)) == ([], before)


def test_a_replay_of_an_earlier_day_reports_it_and_changes_no_flag(overdue):
    scan(overdue, D("2026-06-20"))
    before = (flags(overdue), count(overdue, AuditEvent))
    replay = scan(overdue, D("2026-06-15"))
    assert replay.replay
    assert [(f.rule, f.severity) for f in replay.findings] == [("handoff-overdue", "medium")]
    assert flags(overdue)[0][2] == "high"
    assert (flags(overdue), count(overdue, AuditEvent)) == before


# -- acknowledging ----------------------------------------------------------------------------
@pytest.fixture
def flagged(overdue):
    scan(overdue, D("2026-06-11"))
    return the_flag(overdue).id


@pytest.mark.parametrize("agency", ["WMIDS", "HMP-HEWELL"])
def test_each_agency_told_may_acknowledge_for_itself(overdue, flagged, agency):
    actor = ops.Actor(name=f"user:duty@{agency.lower()}.example", agency=agency)
    act(overdue, ops.acknowledge_flag, actor=actor, flag_id=flagged, on=D("2026-06-11"),
        note="on it")
    assert [a[0] for a in acknowledgements(overdue)] == [agency]


def test_an_administrator_acknowledges_for_no_agency(overdue, flagged):
    with pytest.raises(Forbidden, match="sign in as a case manager"):
        act(overdue, ops.acknowledge_flag, actor=ops.Actor(name="user:admin"), flag_id=flagged,
            on=D("2026-06-11"), note="on it")


@pytest.mark.parametrize(("actor", "message"), [
    (ops.Actor(name="user:duty@staffs.example", agency="STAFFS"), "you act for STAFFS"),
    (ops.Actor(name="user:inspector@hmip.example", read_only=True), "read-only"),
])
def test_others_and_auditors_may_not(overdue, flagged, actor, message):
    with pytest.raises(Forbidden, match=message):
        act(overdue, ops.acknowledge_flag, actor=actor, flag_id=flagged, on=D("2026-06-11"),
            note="not mine")
    assert the_flag(overdue).status == "open"


@pytest.mark.parametrize(("values", "error", "message"), [
    ({"note": "  "}, InvalidInput, "needs a note"),
    ({"snooze_until": D("2026-06-11")}, InvalidInput, "must end after 11 June 2026"),
    ({"flag_id": 999}, NotFound, "there is no flag 999"),
])
def test_acknowledgements_that_make_no_sense_are_refused(overdue, flagged, values, error, message):
    base = {"flag_id": flagged, "on": D("2026-06-11"), "note": "on it"}
    with pytest.raises(error, match=message):
        act(overdue, ops.acknowledge_flag, actor=WMIDS, **{**base, **values})


def test_a_resolved_flag_cannot_be_acknowledged(overdue, flagged):
    load(overdue, event("C-1", "2026-06-12", "handoff_accepted", to_agency="WMIDS"))
    scan(overdue, D("2026-06-12"))
    with pytest.raises(Conflict, match="resolved on 12 June 2026"):
        act(overdue, ops.acknowledge_flag, actor=WMIDS, flag_id=flagged, on=D("2026-06-13"),
            note="late")


def test_rules_run_in_worker_processes_find_the_same(session):
    region(session)
    for n in range(1, 6):
        person_and_case(session, f"C-{n}", expected_release_on=D("2026-06-10"))
        load(session, event(f"C-{n}", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                            role="custody"))
    # Two records of one person, in two chunks: a worker reads the region's links once for
    # its chunks (`linked.Links`), and must still read C-4 into C-1's journey.
    act(session, ops.link_persons, first="P-C-1", second="P-C-4", on=D("2026-05-01"),
        reason="one person")
    alone = scan(session, D("2026-06-01"), dry_run=True)
    together = scan(session, D("2026-06-01"), workers=2, chunk=2)
    # release-unplanned and unallocated, each case; C-4's are C-1's, of each custody
    assert together.found == alone.found == 10
    assert [f.as_json() for f in together.findings] == [f.as_json() for f in alone.findings]
    assert [f.case for f in together.findings].count("C-1") == 4
    assert "C-4" not in {f.case for f in together.findings}
    assert together.opened == 10
