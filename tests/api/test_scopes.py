"""A token acts as its agency and nothing more, in what it posts and what it reads."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gapwatch.models import AuditEvent
from tests.api.conftest import Api, release_plan
from tests.support import D, event, load, person_and_case


def requested(api):
    assert api["HMP-HEWELL"].post(release_plan()).status_code == 200


def test_a_handoff_can_be_requested_only_from_the_tokens_own_agency(api):
    refused = api["WMIDS"].post(release_plan())  # WMIDS is the home area: it sees C-1
    assert refused.status_code == 403
    assert refused.json["detail"] == (
        "event 0: you act for WMIDS and can ask only in its own name"
    )
    assert refused.json["errors"][0]["field"] == "from_agency"
    assert refused.json["errors"][0]["rule"] == "request-handoff"


@pytest.mark.parametrize("decision", [
    event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS"),
    event("C-1", "2026-05-03", "handoff_rejected", to_agency="WMIDS", reason="not ours"),
])
def test_only_the_receiving_agency_accepts_or_rejects(api, decision):
    requested(api)
    refused = api["HMP-HEWELL"].post(decision)
    assert refused.status_code == 403
    assert refused.json["errors"][0]["field"] == "to_agency"
    assert api["WMIDS"].post(decision).status_code == 200


def test_only_the_sender_withdraws(api):
    requested(api)
    withdrawal = event("C-1", "2026-05-03", "handoff_withdrawn", to_agency="WMIDS")
    assert api["WMIDS"].post(withdrawal).status_code == 403
    assert api["HMP-HEWELL"].post(withdrawal).status_code == 200


def test_an_agency_ends_only_its_own_ownerships(api):
    release = event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released")
    assert api["WMIDS"].post(release).status_code == 403
    assert api["HMP-HEWELL"].post(release).status_code == 200


def test_an_agency_starts_only_its_own_ownerships(api):
    start = event("C-1", "2026-06-10", "ownership_started", agency="HMP-HEWELL", role="supervision")
    assert api["WMIDS"].post(start).status_code == 403


@pytest.mark.parametrize("path", ["/cases/C-1", "/cases/C-1/journey"])
def test_a_case_the_agency_is_not_involved_in_does_not_exist_for_it(api, path):
    answer = api["STAFFS"].get(path)
    assert answer.status_code == 404
    assert answer.json["detail"] == "no case 'C-1' that STAFFS is involved in"
    assert api["STAFFS"].get(path.replace("C-1", "C-404")).json["detail"] == (
        "no case 'C-404' that STAFFS is involved in"
    )


def test_events_about_a_case_the_agency_is_not_involved_in_are_404(api):
    answer = api["STAFFS"].post([
        event("C-404", "2026-05-01", "case_closed"),
    ])
    assert answer.status_code == 404
    hidden = api["STAFFS"].post(event("C-1", "2026-05-01", "handoff_requested",
                                      from_agency="STAFFS", to_agency="WMIDS",
                                      role="supervision", kind="referral"))
    assert hidden.status_code == 404
    assert hidden.json["detail"] == answer.json["detail"].replace("C-404", "C-1")


@pytest.mark.parametrize(("agency", "why"), [
    ("HMP-HEWELL", "owns it"),
    ("WMIDS", "is the home area"),
])
def test_involved_agencies_read_the_case(api, agency, why):
    assert api[agency].get("/cases/C-1").status_code == 200, why


def test_an_agency_asked_to_take_the_case_reads_it(api):
    requested_to_staffs = release_plan(to_agency="STAFFS", kind="referral")
    assert api["HMP-HEWELL"].post(requested_to_staffs).status_code == 200
    assert api["STAFFS"].get("/cases/C-1").status_code == 200


def test_a_404_probe_is_audited_under_the_tokens_name(api, world):
    api["STAFFS"].get("/cases/C-1")
    world.rollback()
    entry = world.execute(
        select(AuditEvent).where(AuditEvent.actor.like("token:%"))
    ).scalar_one()
    assert (entry.actor, entry.action) == ("token:STAFFS/staffs-system", "api.refused")
    assert (entry.detail["status"], entry.detail["path"]) == (404, "/api/v1/cases/C-1")


def test_a_home_area_cannot_take_a_restricted_case_to_read_its_details(api, world):
    person_and_case(world, "C-R", opened_on=D("2026-01-10"), restricted=True)
    load(world, event("C-R", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                      role="custody"))
    grab = event("C-R", "2026-06-10", "ownership_started", agency="WMIDS", role="supervision",
                 officer="J. Smith")
    refused = api["WMIDS"].post(grab)
    assert refused.status_code == 403
    assert refused.json["errors"][0]["rule"] == "take-supervision"
    assert "is not in a gap on 10 June 2026" in refused.json["detail"]
    assert "Sam" not in api["WMIDS"].get("/cases/C-R").get_data(as_text=True)
    handed = event("C-R", "2026-06-01", "handoff_requested", from_agency="HMP-HEWELL",
                   to_agency="WMIDS", role="supervision", kind="referral")
    assert api["HMP-HEWELL"].post(handed).status_code == 200
    assert api["WMIDS"].post(grab).status_code == 403  # asked to take it: it accepts instead
    accepted = event("C-R", "2026-06-10", "handoff_accepted", to_agency="WMIDS")
    assert api["WMIDS"].post(accepted).status_code == 200
    assert "Sam" in api["WMIDS"].get("/cases/C-R").get_data(as_text=True)


@pytest.mark.parametrize("grab", [
    # The attack of issue 11: a delivery of its own, then closing another agency's case.
    [event("C-1", "2026-06-01", "ownership_started", agency="WARKS", role="delivery"),
     event("C-1", "2026-06-01", "case_closed")],
    # Supervision of its own while HMP Hewell holds the case.
    [event("C-1", "2026-06-01", "ownership_started", agency="WMIDS", role="supervision",
           officer="J. Smith")],
    # A provider is never handed supervision.
    [event("C-1", "2026-05-01", "handoff_requested", from_agency="HMP-HEWELL",
           to_agency="CONNECT-NACRO", role="supervision", kind="referral")],
])
def test_self_granted_changes_are_refused_and_nothing_is_kept(api, world, tokens, grab):
    from gapwatch import operations as ops
    from tests.support import act
    if grab[0]["agency" if "agency" in grab[0] else "from_agency"] == "WARKS":
        _token, secret = act(world, ops.create_token, agency="WARKS", name="warks-system")
        caller = Api(api["WMIDS"].client, secret)
        load(world, event("C-1", "2026-02-01", "handoff_requested", from_agency="HMP-HEWELL",
                          to_agency="WARKS", role="supervision", kind="referral"))
    else:
        caller = api[grab[0].get("from_agency") or grab[0]["agency"]]
    before = world.execute(select(func.count()).select_from(AuditEvent)).scalar()
    refused = caller.post(grab)
    assert refused.status_code == 403, refused.json
    assert refused.json["errors"][0]["rule"] in {"role-table", "take-supervision"}
    world.rollback()
    assert world.execute(select(func.count()).select_from(AuditEvent)).scalar() == before + 1
    # The one new entry is the refusal itself, recorded for auditors.
    last = world.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars().first()
    assert last.action == "api.refused"
