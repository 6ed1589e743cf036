"""The review page of possible twins: who sees a pair, what they see of it, and deciding it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.linkage import Reason, Scored
from gapwatch.models import AuditEvent, LinkProposal, Person, PersonLink
from tests.support import load
from tests.web.conftest import event

REASONS = (Reason("name", "both names alike (a typo)", 12.5),
           Reason("date_of_birth", "day and month transposed", 9.75),
           Reason("home_area", "All other comparisons", -1.8))


def propose(session, first: str, second: str) -> int:
    ids = [session.execute(select(Person.id).where(Person.reference == r)).scalar_one()
           for r in (first, second)]
    pair = Scored(*sorted(ids), 0.987, 6.2, REASONS)
    with ops.unit_of_work(session, ops.Actor.system("link")) as uow:
        ops.record_linkage(uow, model={}, pairs=[pair], persons=2, threshold=0.5,
                           splink_version="test", on=clock.today())
    return session.execute(select(LinkProposal.id)).scalar_one()


@pytest.fixture
def pair(world, session):
    """A restricted person in Hewell's custody (Zebedee Quill), proposed as the twin of
    Staffordshire's C-STAFFS person."""
    load(session,
         {"type": "person", "reference": "P-HIDDEN", "given_name": "Zebedee",
          "family_name": "Quill", "date_of_birth": "1990-05-05", "home_area": "WMIDS",
          "restricted": True, "identifiers": {"noms": "A1234BC"}},
         {"type": "case", "reference": "C-HIDDEN", "person": "P-HIDDEN",
          "opened_on": world["start"].isoformat()},
         event("C-HIDDEN", world["start"], "ownership_started", agency="HMP-HEWELL",
               role="custody"))
    return propose(session, "P-HIDDEN", "P-C-STAFFS")


def test_an_agency_holding_one_side_sees_the_pair_but_not_the_restricted_details(browse, pair):
    staffs = browse("staffs")
    listing = staffs.get("/links")
    assert f"/links/{pair}" in listing.text and "P-C-STAFFS" in listing.text
    assert "P-HIDDEN" not in listing.text  # the reference names the restricted person too
    page = staffs.get(f"/links/{pair}")
    assert page.status_code == 200
    assert "Zebedee" not in page.text and "Quill" not in page.text and "A1234BC" not in page.text
    assert "P-HIDDEN" not in page.text
    assert "restricted" in page.text
    # The reasons would tell the restricted person's details beside the other side's own (a
    # transposed date of birth, the same home area): withheld, the score alone is shown.
    assert "day and month transposed" not in page.text and "+9.8" not in page.text
    assert '<svg class="waterfall"' not in page.text and "reasons are withheld" in page.text


def test_the_agency_holding_the_restricted_person_sees_both_sides(browse, pair):
    page = browse("hewell").get(f"/links/{pair}")
    assert "Zebedee Quill" in page.text and "noms A1234BC" in page.text
    assert "day and month transposed" in page.text and "+9.8" in page.text
    assert '<svg class="waterfall"' in page.text


def test_an_agency_holding_neither_case_finds_no_such_pair(browse, pair):
    wmids = browse("wmids")
    assert f"/links/{pair}" not in wmids.get("/links").text
    assert wmids.get(f"/links/{pair}").status_code == 404
    assert wmids.post(f"/links/{pair}/confirm").status_code == 404


def test_confirming_links_the_two_records_and_the_case_page_shows_them(browse, pair, session):
    hewell = browse("hewell")
    done = hewell.post(f"/links/{pair}/confirm", {"note": "same prison number on paper"})
    assert done.status_code == 303
    link = session.execute(select(PersonLink)).scalar_one()
    assert link.proposal_id == pair and link.linked_by == "user:cm@hewell.example"
    assert link.reason == "same prison number on paper"
    actions = session.execute(select(AuditEvent.action).where(
        AuditEvent.action.in_(["link_proposal.viewed", "link_proposal.confirmed",
                               "person.linked"]))).scalars().all()
    assert actions == ["link_proposal.confirmed", "person.linked"]
    case_page = hewell.get("/cases/C-HIDDEN").text
    assert "Linked records" in case_page and "P-C-STAFFS" in case_page
    assert "noms A1234BC" in case_page
    again = hewell.post(f"/links/{pair}/reject")
    assert again.status_code == 409 and "already confirmed" in again.text


def test_an_auditor_reads_the_pair_and_cannot_decide_it(browse, pair):
    auditor = browse("auditor")
    page = auditor.get(f"/links/{pair}")
    assert "Zebedee Quill" in page.text and "Confirm: one person" not in page.text
    assert auditor.post(f"/links/{pair}/reject").status_code == 403


def test_an_agency_told_of_a_linked_groups_gap_opens_the_case_the_flag_is_on(
        browse, world, session):
    # One person supervised by two areas under two records: once linked, the dual-ownership
    # flag sits on one of the two cases and tells both areas. Each must be able to open the
    # case the flag is on and acknowledge it, whichever of the two records it holds.
    from gapwatch.models import Case, Flag
    from gapwatch.scan import scan
    load(session,
         {"type": "person", "reference": "P-C-WMIDS", "given_name": "Sam",
          "family_name": "Twin", "date_of_birth": "1990-05-05", "home_area": "WMIDS"},
         {"type": "case", "reference": "C-WMIDS", "person": "P-C-WMIDS",
          "opened_on": world["start"].isoformat()},
         event("C-WMIDS", world["start"], "ownership_started", agency="WMIDS",
               role="supervision"))
    for who in ("wmids", "staffs"):  # nobody was told anything yet: each sees its own record
        other = "C-STAFFS" if who == "wmids" else "C-WMIDS"
        assert browse(who).get(f"/cases/{other}").status_code == 404
    scan(session, world["today"])  # flags follow each change from the first scan on
    pair = propose(session, "P-C-WMIDS", "P-C-STAFFS")
    confirmed = browse("staffs").post(f"/links/{pair}/confirm", {"note": "same PNC"})
    assert confirmed.status_code == 303
    session.rollback()
    flag = session.execute(select(Flag).where(Flag.rule == "dual-ownership")).scalar_one()
    assert sorted(flag.notify) == ["STAFFS", "WMIDS"]
    reference = session.get(Case, flag.case_id).reference
    for who in ("wmids", "staffs"):
        page = browse(who).get(f"/cases/{reference}")
        assert page.status_code == 200, who
        assert f'action="/cases/{reference}/flags/{flag.id}/acknowledge"' in page.text, who
    # The other record's case is the other area's alone: named on the lead's page, not linked.
    other = "C-STAFFS" if reference == "C-WMIDS" else "C-WMIDS"
    stranger = "wmids" if other == "C-STAFFS" else "staffs"
    assert browse(stranger).get(f"/cases/{other}").status_code == 404
    page = browse(stranger).get(f"/cases/{reference}").text
    assert other in page and f'href="/cases/{other}"' not in page
    owner = "staffs" if stranger == "wmids" else "wmids"
    assert f'href="/cases/{other}"' in browse(owner).get(f"/cases/{reference}").text
    # Told of nothing on either case, Hewell still finds neither.
    hewell = browse("hewell")
    assert {hewell.get(f"/cases/{r}").status_code for r in ("C-WMIDS", "C-STAFFS")} == {404}
