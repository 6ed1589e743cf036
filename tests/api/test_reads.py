"""Reading cases, journeys and flags, each read audited under the token's name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gapwatch import clock
from gapwatch.models import AuditEvent, Flag
from gapwatch.scan import scan
from tests.api.conftest import RELEASE, release_plan
from tests.support import D, event, load, person_and_case


def test_the_journey_shows_ownerships_handoffs_gaps_and_who_is_accountable_today(api):
    api["HMP-HEWELL"].post([
        release_plan(kind="referral"),
        event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL", reason="released"),
    ])
    journey = api["WMIDS"].get("/cases/C-1/journey")
    assert journey.status_code == 200
    body = journey.json
    assert body["today"] == clock.today().isoformat()
    assert [(o["agency"], o["role"], o["starts_on"], o["ends_on"]) for o in body["ownerships"]] == [
        ("HMP-HEWELL", "custody", "2026-01-10", "2026-06-10"),
    ]
    assert [(h["from_agency"], h["to_agency"], h["status"]) for h in body["handoffs"]] == [
        ("HMP-HEWELL", "WMIDS", "pending"),
    ]
    # Released on 10 June with the referral still unanswered: nobody is accountable since.
    assert body["gaps"] == [{"starts_on": "2026-06-10", "ends_on": None}]
    assert body["accountable_today"] == []
    assert body["agencies"] == ["HMP-HEWELL", "WMIDS"]


def test_an_accepted_transfer_leaves_no_gap_and_names_the_new_owner(api):
    api["HMP-HEWELL"].post(release_plan())
    api["WMIDS"].post(event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS",
                            officer="J. Smith"))
    body = api["HMP-HEWELL"].get("/cases/C-1/journey").json
    assert body["gaps"] == []
    today = clock.today()
    expected = ["WMIDS"] if today >= RELEASE else ["HMP-HEWELL"]
    assert [o["agency"] for o in body["accountable_today"]] == expected
    accepted = body["handoffs"][0]
    assert (accepted["status"], accepted["effective_on"]) == ("accepted", "2026-06-10")


def test_the_case_shows_its_person_to_an_agency_involved(api):
    body = api["WMIDS"].get("/cases/C-1").json
    assert body["reference"] == "C-1"
    assert body["expected_release_on"] == RELEASE.isoformat()
    assert body["person"] == {"reference": "P-C-1", "home_area": "WMIDS", "restricted": False,
                              "details_shown": True, "given_name": "Sam",
                              "family_name": "Example", "date_of_birth": "1990-05-05",
                              "identifiers": {}}


def test_a_restricted_persons_details_are_only_for_an_agency_owning_the_case_today(api, world):
    person_and_case(world, "C-R", restricted=True)
    load(world, event("C-R", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                      role="custody"))
    owner = api["HMP-HEWELL"].get("/cases/C-R").json["person"]
    home = api["WMIDS"].get("/cases/C-R").json["person"]
    assert owner["details_shown"] is True and owner["family_name"] == "Example"
    assert home == {"reference": None, "home_area": "WMIDS", "restricted": True,
                    "details_shown": False}


def test_writes_and_reads_are_audited_under_the_tokens_name(api, world):
    api["HMP-HEWELL"].post(release_plan())
    api["WMIDS"].get("/cases/C-1/journey")
    world.rollback()
    entries = world.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.case_reference)
        .where(AuditEvent.actor.like("token:%")).order_by(AuditEvent.seq)
    ).all()
    assert entries == [
        ("token:HMP-HEWELL/hmp-hewell-system", "handoff.requested", "C-1"),
        ("token:HMP-HEWELL/hmp-hewell-system", "api.events", None),
        ("token:WMIDS/wmids-system", "api.read", "C-1"),
    ]


# -- flags ----------------------------------------------------------------------------------
SCAN_DAY = D("2026-05-20")


@pytest.fixture
def flagged(world, api):
    """C-1..C-3 in Hewell's custody, release near, no plan, no officer; C-9 elsewhere.

    Scanned on 20 May by the rule engine: each of C-1..C-3 has `release-unplanned` (high,
    Hewell and WMIDS told) and `unallocated` (medium, Hewell told); C-9 the same for Long Lartin.
    """
    for reference in ("C-2", "C-3"):
        person_and_case(world, reference, expected_release_on=RELEASE)
        load(world, event(reference, "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                          role="custody"))
    person_and_case(world, "C-9", expected_release_on=RELEASE, home_area="STAFFS")
    load(world, event("C-9", "2026-01-10", "ownership_started", agency="HMP-LONG-LARTIN",
                      role="custody"))
    scan(world, SCAN_DAY)
    return api


def flags(api, caller: str, **params) -> list[tuple[str, str]]:
    answer = api[caller].get("/flags", **params)
    assert answer.status_code == 200, answer.json
    return sorted((f["case"], f["rule"]) for f in answer.json["items"])


def test_flags_are_those_of_the_cases_the_agency_is_involved_in(flagged):
    assert flags(flagged, "HMP-HEWELL") == [
        (case, rule) for case in ("C-1", "C-2", "C-3")
        for rule in ("release-unplanned", "unallocated")
    ]
    assert flags(flagged, "STAFFS") == [("C-9", "release-unplanned"), ("C-9", "unallocated")]


@pytest.mark.parametrize(("params", "expected"), [
    ({"rule": "unallocated"}, ["C-1", "C-2", "C-3"]),
    ({"severity": "high"}, ["C-1", "C-2", "C-3"]),
    ({"agency": "WMIDS"}, ["C-1", "C-2", "C-3"]),  # only release-unplanned tells the home area
    ({"status": "open", "severity": "critical"}, []),
    ({"status": "resolved"}, []),
])
def test_flags_filter_by_agency_rule_severity_and_status(flagged, params, expected):
    found = flags(flagged, "HMP-HEWELL", **params)
    assert [case for case, _rule in found] == expected
    assert len({rule for _case, rule in found}) <= 1


def test_flags_come_a_page_at_a_time_each_once(flagged):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = flagged["HMP-HEWELL"].get("/flags", **params).json
        seen += [f["id"] for f in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen)


def test_a_flag_not_read_again_was_seen_on_the_last_day_scanned(flagged, world):
    """The next day's scan finds the flags again without writing to them (nothing about their
    cases changes): the API says each was last seen on that day all the same."""
    scan(world, SCAN_DAY + timedelta(days=1))
    world.expire_all()
    assert set(world.execute(select(Flag.last_seen_on)).scalars()) == {SCAN_DAY}  # stored
    items = flagged["HMP-HEWELL"].get("/flags").json["items"]
    assert len(items) == 6
    assert {f["last_seen_on"] for f in items} == {"2026-05-21"}


@pytest.mark.parametrize(("params", "field"), [
    ({"severity": "urgent"}, "severity"),
    ({"status": "closed"}, "status"),
    ({"limit": "0"}, "limit"),
    ({"limit": "lots"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"agency": "wmids"}, "agency"),
])
def test_bad_flag_filters_are_400_naming_the_parameter(api, world, params, field):
    answer = api["WMIDS"].get("/flags", **params)
    assert answer.status_code == 400
    assert answer.json["errors"][0]["field"] == field
    world.rollback()
    refused = world.execute(
        select(AuditEvent).where(AuditEvent.action == "api.refused")
    ).scalar_one()
    assert refused.actor == "token:WMIDS/wmids-system"
    assert refused.detail["status"] == 400
    assert refused.detail["errors"][0]["field"] == field


def test_unknown_query_parameters_are_400(api):
    answer = api["WMIDS"].get("/flags", colour="red")
    assert answer.status_code == 400
    assert answer.json["detail"].startswith("unknown query parameter 'colour'")
    assert api["WMIDS"].get("/cases/C-1", verbose="1").status_code == 400


def test_an_agency_told_of_a_gap_reads_the_case_and_its_flag(world, api):
    # Two areas supervise one person under two records; linked, the dual-ownership flag sits
    # on one record's case and tells both areas, whichever record each holds.
    from gapwatch import operations as ops
    from gapwatch.models import Case
    from tests.support import act
    for reference, agency in (("C-7", "WMIDS"), ("C-8", "STAFFS")):
        person_and_case(world, reference, home_area=agency)
        load(world, event(reference, "2026-01-10", "ownership_started", agency=agency,
                          role="supervision"))
    act(world, ops.link_persons, first="P-C-7", second="P-C-8", on=D("2026-02-01"),
        reason="same PNC on paper")
    scan(world, SCAN_DAY)
    flag = world.execute(select(Flag).where(Flag.rule == "dual-ownership")).scalar_one()
    assert sorted(flag.notify) == ["STAFFS", "WMIDS"]
    lead = world.get(Case, flag.case_id).reference
    for agency in ("WMIDS", "STAFFS"):
        assert api[agency].get(f"/cases/{lead}").status_code == 200, agency
        assert (lead, "dual-ownership") in flags(api, agency), agency
    assert api["HMP-HEWELL"].get(f"/cases/{lead}").status_code == 404
