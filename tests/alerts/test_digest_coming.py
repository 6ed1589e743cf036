"""The digest's "Coming up in the next 7 days": the forecast's, to whom it tells, names withheld."""

from __future__ import annotations

from datetime import timedelta

from gapwatch import operations as ops
from gapwatch.alerts import send_pending, write_digests
from gapwatch.alerts.digest import gather
from gapwatch.alerts.settings import AlertSettings
from gapwatch.forecast import forecast
from tests.alerts.conftest import DAY
from tests.support import event, load, person_and_case, region, system

SOON, LATER = DAY + timedelta(days=3), DAY + timedelta(days=20)


def coming_soon(session) -> None:
    """On DAY (1 June 2026):

    - C-1, a restricted person in HMP Hewell's custody, home area WMIDS: a referral to WMIDS
      due 4 June, so overdue from 5 June (within 7 days), telling Hewell and WMIDS;
    - C-2, the same, due 21 June: overdue from 22 June, beyond the 7 days;
    - C-3, supervised by STAFFS since 30 May with no officer: `unallocated` from 4 June, and
      nothing else for STAFFS today.
    """
    region(session)
    person_and_case(session, "C-1", restricted=True)
    person_and_case(session, "C-2")
    person_and_case(session, "C-3", home_area="STAFFS")
    records = []
    for case, due in (("C-1", SOON), ("C-2", LATER)):
        records += [
            event(case, "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody",
                  officer="A. Officer"),
            event(case, "2026-05-20", "handoff_requested", from_agency="HMP-HEWELL",
                  to_agency="WMIDS", role="supervision", kind="referral", due_on=due),
        ]
    records.append(event("C-3", "2026-05-30", "ownership_started", agency="STAFFS",
                         role="supervision"))
    load(session, *records)


def write(session, **config) -> None:
    with ops.unit_of_work(session, system()) as uow:
        write_digests(uow, DAY, config={"BASE_URL": "http://gapwatch.test", **config})


def test_the_digest_says_what_is_coming_in_seven_days_to_each_agency_it_will_tell(session, smtp):
    coming_soon(session)
    write(session)
    send_pending(session, smtp.config())
    [wmids] = smtp.inbox.to("duty@wmids.example")
    [hewell] = smtp.inbox.to("duty@hmp-hewell.example")
    [staffs] = smtp.inbox.to("duty@staffs.example")
    text = wmids.get_body(("plain",)).get_content()
    assert "COMING UP IN THE NEXT 7 DAYS IF NOBODY ACTS (1)" in text
    assert ("- 5 June 2026 [MEDIUM] C-1 (restricted: name withheld) · handoff-overdue"
            in text)
    html = wmids.get_body(("html",)).get_content()
    assert "C-1 Sam Example" not in text and "C-1</a> Sam Example" not in html
    assert "C-2" not in text.partition("COMING UP")[2]  # 22 June is past the seven days
    assert "- 5 June 2026 [MEDIUM] C-1 Sam Example · handoff-overdue" in (
        hewell.get_body(("plain",)).get_content())
    assert "Coming up in the next 7 days if nobody acts (1)" in (
        hewell.get_body(("html",)).get_content())
    # Staffordshire has nothing today but an officer to name before 4 June: it is told.
    assert staffs["Subject"] == "gapwatch STAFFS 1 June 2026: 1 coming in 7 days"
    assert "- 4 June 2026 [MEDIUM] C-3 Sam Example · unallocated" in (
        staffs.get_body(("plain",)).get_content())


def test_the_section_is_the_forecasts_and_can_be_turned_off(session):
    coming_soon(session)
    digests = {d.agency.code: d for d in gather(session, DAY, AlertSettings())}
    ahead = forecast(session, DAY, days=7)
    for code, digest in digests.items():
        assert [(c.day, c.case.reference, c.rule, c.severity) for c in digest.coming] == [
            (c.day, c.finding.case, c.finding.rule, c.finding.severity)
            for c in ahead.for_agency(code)], code
    off = {d.agency.code: d for d in gather(session, DAY, AlertSettings(coming_days=0))}
    assert "STAFFS" not in off and all(not d.coming for d in off.values())


def test_an_agency_that_wants_only_high_flags_hears_of_nothing_medium_coming(session):
    coming_soon(session)
    load(session, {"type": "agency", "code": "STAFFS", "name": "Staffordshire Probation",
                   "kind": "probation", "region": "West Midlands",
                   "alert_emails": ["duty@staffs.example"], "alert_severities": ["high"]})
    assert "STAFFS" not in {d.agency.code for d in gather(session, DAY, AlertSettings())}
