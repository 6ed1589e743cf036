"""What each agency's digest says on a day: its flags, its handoffs, and nothing it may not see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.alerts import write_digests
from gapwatch.alerts.digest import gather
from gapwatch.alerts.settings import AlertSettings
from gapwatch.models import Agency, OutboxMessage
from tests.alerts.conftest import DAY, raise_flag, scenario
from tests.support import D, event, load, person_and_case, region, system

SETTINGS = AlertSettings(base_url="http://gapwatch.test", escalate_after_days=3)


@pytest.fixture
def digests(session):
    scenario(session)
    return {d.agency.code: d for d in gather(session, DAY, SETTINGS)}


def outbox(session) -> dict[tuple[str, str], OutboxMessage]:
    rows = session.execute(
        select(OutboxMessage, Agency.code).join(Agency, Agency.id == OutboxMessage.agency_id)
    ).all()
    return {(code, row.kind): row for row, code in rows}


def write(session, day=DAY) -> int:
    with ops.unit_of_work(session, system()) as uow:
        return write_digests(uow, day, config={"BASE_URL": "http://gapwatch.test"})


def test_only_agencies_with_something_to_say_get_a_digest(digests):
    # WARKS is told of C-3's flag but takes only high and critical ones; the others hear nothing.
    assert sorted(digests) == ["HMP-HEWELL", "STAFFS", "WMERCIA", "WMIDS", "YSS"]


def test_a_digest_lists_new_and_still_open_flags_with_how_long_and_a_link(digests):
    staffs, hewell = digests["STAFFS"], digests["HMP-HEWELL"]
    assert [(f.case.reference, f.rule, f.days_open) for f in staffs.new_flags] == [
        ("C-3", "unallocated", 0)]
    assert staffs.open_flags == []
    assert [(f.case.reference, f.rule, f.days_open) for f in hewell.open_flags] == [
        ("C-1", "release-unplanned", 2)]
    assert hewell.open_flags[0].case.link == "http://gapwatch.test/cases/C-1"


def test_still_open_flags_come_most_severe_then_oldest_first(session):
    scenario(session)
    raise_flag(session, "C-2", rule="unallocated", severity="medium", since=D("2026-05-10"),
               notify=["WMERCIA"])
    raise_flag(session, "C-2", rule="dual-ownership", severity="medium", since=D("2026-05-28"),
               notify=["WMERCIA"])
    wmercia = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}["WMERCIA"]
    assert [(f.rule, f.days_open) for f in wmercia.open_flags] == [
        ("contract-lapsed", 7), ("unallocated", 22), ("dual-ownership", 4)]


def test_handoffs_waiting_for_the_receiver_and_overdue_for_the_sender(digests):
    waiting = digests["WMIDS"].waiting
    overdue = digests["HMP-HEWELL"].overdue
    assert [(h.case.reference, h.from_agency, h.due_on) for h in waiting] == [
        ("C-1", "HMP-HEWELL", D("2026-05-25"))]
    assert [(h.case.reference, h.to_agency, h.days_overdue) for h in overdue] == [
        ("C-1", "WMIDS", 7)]
    assert digests["WMIDS"].overdue == [] and digests["HMP-HEWELL"].waiting == []


def test_a_restricted_persons_name_is_shown_only_to_agencies_owning_the_case(digests):
    # HMP Hewell holds C-1's custody; WMIDS is the home area and the handoff's receiver, not an owner.
    assert digests["HMP-HEWELL"].open_flags[0].case.name == "Sam Example"
    assert digests["WMIDS"].open_flags[0].case.name is None
    assert digests["WMIDS"].waiting[0].case.name is None
    assert digests["WMERCIA"].open_flags[0].case.name == "Sam Example"  # C-2 is not restricted


def test_restricted_name_never_reaches_the_email_of_an_agency_that_may_not_see_it(session):
    scenario(session)
    write(session)
    rows = outbox(session)
    wmids = rows[("WMIDS", "digest")]
    assert "Sam Example" not in wmids.body_text and "Sam Example" not in wmids.body_html
    assert "C-1 (restricted: name withheld)" in wmids.body_text
    assert "C-1 Sam Example" in rows[("HMP-HEWELL", "digest")].body_text


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        (["low", "medium", "high", "critical"], ["unallocated"]),
        (["high", "critical"], []),
        (["low"], ["unallocated"]),
    ],
)
def test_an_agency_receives_only_the_severities_it_chose(session, severities, expected):
    region(session)
    load(session, {"type": "agency", "code": "STAFFS", "name": "Staffordshire Probation",
                   "kind": "probation", "alert_emails": ["duty@staffs.example"],
                   "alert_severities": severities})
    person_and_case(session, "C-3", home_area="STAFFS")
    load(session, event("C-3", "2026-01-10", "ownership_started", agency="STAFFS", role="supervision"))
    raise_flag(session, "C-3", rule="unallocated", severity="low", since=DAY, notify=["STAFFS"])
    found = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}
    heard = [f.rule for f in found["STAFFS"].new_flags] if "STAFFS" in found else []
    assert heard == expected


def test_flags_open_long_enough_are_escalated_to_the_commissioner_or_the_agencys_lead(session):
    scenario(session)
    write(session)
    rows = outbox(session)
    # YSS is a provider: its escalation goes to its commissioner, WMERCIA, under contract.
    # WMERCIA escalates to the lead it names. C-1's flag is 2 days old: no escalation yet.
    assert sorted(k for k in rows if k[1] == "escalation") == [
        ("WMERCIA", "escalation"), ("YSS", "escalation")]
    assert rows[("YSS", "escalation")].recipients == ["director@wmercia.example"]
    assert rows[("WMERCIA", "escalation")].recipients == ["director@wmercia.example"]
    assert "ESCALATED" in rows[("YSS", "escalation")].body_text
    assert "C-2" in rows[("YSS", "escalation")].body_text
    assert "[HIGH] C-2 Sam Example · contract-lapsed · ESCALATED" in rows[("YSS", "digest")].body_text
    assert "ESCALATED" not in rows[("HMP-HEWELL", "digest")].body_text


def test_escalation_waits_for_escalate_after_days(session):
    scenario(session)
    late = {d.agency.code: d for d in gather(session, DAY, AlertSettings(escalate_after_days=8))}
    assert late["YSS"].escalated == []
    assert [f.case.reference for f in
            {d.agency.code: d for d in gather(session, DAY, SETTINGS)}["YSS"].escalated] == ["C-2"]


def test_snoozed_flags_stay_quiet_until_the_snooze_ends(session):
    scenario(session)
    raise_flag(session, "C-3", rule="dual-ownership", severity="medium", since=D("2026-05-20"),
               notify=["STAFFS"], status="acknowledged", acknowledged={"STAFFS": DAY})
    staffs = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}["STAFFS"]
    assert [f.rule for f in staffs.open_flags] == []
    later = {d.agency.code: d for d in gather(session, D("2026-06-02"), SETTINGS)}["STAFFS"]
    # The snooze has ended: STAFFS hears of it again, as not acknowledged (the next scan
    # ends the acknowledgement itself), and escalated again, open since 20 May.
    assert [(f.rule, f.acknowledged, f.escalated) for f in later.open_flags] == [
        ("dual-ownership", False, True), ("unallocated", False, False)]


def test_one_agency_acknowledging_leaves_the_others_told_and_escalated(session):
    scenario(session)
    raise_flag(session, "C-3", rule="dual-ownership", severity="medium", since=D("2026-05-20"),
               notify=["STAFFS", "WMERCIA"], acknowledged={"STAFFS": D("2026-06-03")})
    on = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}
    assert "dual-ownership" not in [f.rule for f in on["STAFFS"].open_flags]  # quiet for STAFFS
    [told] = [f for f in on["WMERCIA"].open_flags if f.rule == "dual-ownership"]
    assert (told.acknowledged, told.escalated) == (False, True)  # WMERCIA said nothing
    after = {d.agency.code: d for d in gather(session, D("2026-06-04"), SETTINGS)}
    [again] = [f for f in after["STAFFS"].open_flags if f.rule == "dual-ownership"]
    assert (again.acknowledged, again.escalated) == (False, True)  # the snooze ran out


def test_an_acknowledged_flag_is_marked_and_not_escalated_for_that_agency(session):
    scenario(session)
    raise_flag(session, "C-3", rule="dual-ownership", severity="medium", since=D("2026-05-20"),
               notify=["STAFFS", "WMERCIA"], acknowledged={"WMERCIA": None})
    on = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}
    [flag] = [f for f in on["WMERCIA"].open_flags if f.rule == "dual-ownership"]
    assert (flag.acknowledged, flag.escalated) == (True, False)


def test_writing_the_same_day_again_updates_pending_rows_and_never_duplicates(session):
    scenario(session)
    assert write(session) == 7  # five digests, two escalations
    assert write(session) == 0
    raise_flag(session, "C-2", rule="dual-ownership", severity="medium", since=DAY,
               notify=["WMERCIA"])
    assert write(session) == 1
    rows = outbox(session)
    assert len(rows) == 7
    assert "dual-ownership" in rows[("WMERCIA", "digest")].body_text


def test_writing_again_never_rewrites_a_sent_digest(session):
    scenario(session)
    write(session)
    sent = outbox(session)[("STAFFS", "digest")]
    with ops.unit_of_work(session, system()) as uow:
        uow.session.get(OutboxMessage, sent.id).status = "sent"  # as the sender marks it
    raise_flag(session, "C-3", rule="dual-ownership", severity="medium", since=DAY,
               notify=["STAFFS"])
    write(session)
    row = outbox(session)[("STAFFS", "digest")]
    assert row.status == "sent" and "dual-ownership" not in row.body_text


def test_a_pending_digest_with_nothing_left_to_say_is_dropped(session):
    scenario(session)
    write(session)
    with ops.unit_of_work(session, system()) as uow:
        ops.close_case(uow, case="C-3", on=D("2026-05-31"))
    write(session)
    assert ("STAFFS", "digest") not in outbox(session)


def test_a_digest_has_both_parts_and_a_subject_that_counts(session):
    scenario(session)
    write(session)
    hewell = outbox(session)[("HMP-HEWELL", "digest")]
    assert hewell.recipients == ["duty@hmp-hewell.example"]
    assert hewell.subject == ("gapwatch HMP-HEWELL 1 June 2026: 1 high: C-1 is released soon with "
                              "no plan; 1 still open, 1 sent handoff overdue")
    assert '<a href="http://gapwatch.test/cases/C-1">C-1</a>' in hewell.body_html
    assert "HANDOFFS YOU SENT THAT ARE OVERDUE (1)" in hewell.body_text


def test_the_subject_says_the_worst_thing_first(session):
    scenario(session)
    raise_flag(session, "C-3", rule="no-accountable-owner", severity="critical", since=DAY,
               subject="gap:2026-06-01", notify=["STAFFS"])
    write(session)
    assert outbox(session)[("STAFFS", "digest")].subject.startswith(
        "gapwatch STAFFS 1 June 2026: 1 critical: nobody responsible for C-3; ")


def test_a_provider_whose_contract_lapsed_escalates_to_its_last_commissioner(session):
    scenario(session)
    load(session, {"type": "contract", "provider": "YSS", "commissioner": "WMERCIA",
                   "service": "ICCP", "starts_on": "2025-04-01", "ends_on": "2026-05-24"})
    yss = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}["YSS"]
    assert yss.escalation_emails == ["director@wmercia.example"]


def test_a_provider_without_a_commissioners_address_escalates_to_its_own(session):
    scenario(session)
    load(session, {"type": "agency", "code": "YSS", "name": "Youth Support Services (YSS)",
                   "kind": "provider", "alert_emails": ["duty@yss.example"],
                   "escalation_emails": ["ceo@yss.example"]},
         {"type": "agency", "code": "WMERCIA", "name": "West Mercia Probation",
          "kind": "probation", "alert_emails": ["duty@wmercia.example"], "escalation_emails": []})
    yss = {d.agency.code: d for d in gather(session, DAY, SETTINGS)}["YSS"]
    assert yss.escalation_emails == ["ceo@yss.example"]


def test_outside_an_app_the_settings_come_from_the_environment(monkeypatch):
    # The scheduler's worker threads have no app context; the scan still calls write_digests.
    monkeypatch.setenv("GAPWATCH_BASE_URL", "https://gapwatch.example.gov.uk/")
    monkeypatch.setenv("GAPWATCH_ESCALATE_AFTER_DAYS", "5")
    monkeypatch.setenv("GAPWATCH_SECRET_KEY", "test-secret-key")  # no dev key file written
    settings = AlertSettings.of()
    assert settings.case_link("C-1") == "https://gapwatch.example.gov.uk/cases/C-1"
    assert settings.escalate_after_days == 5


def test_inside_an_app_the_settings_are_the_apps(app):
    with app.app_context():
        assert AlertSettings.of().base_url == "http://gapwatch.test"


@pytest.mark.parametrize(("attempts", "wait"), [(1, 60), (2, 120), (5, 960), (9, 15360), (10, 21600), (30, 21600)])
def test_the_wait_doubles_after_each_failure_up_to_six_hours(attempts, wait):
    assert AlertSettings().retry_delay(attempts) == wait
