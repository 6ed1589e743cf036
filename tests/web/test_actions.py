"""Each action on the case page runs its domain operation as the user, or says why not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gapwatch.models import AuditEvent, Case, Flag, FlagAcknowledgement, Handoff, Ownership
from gapwatch.queries import load_journey
from gapwatch.scan import scan


def fresh(session) -> None:
    """End the test's read transaction, so it sees what the app's requests committed."""
    session.rollback()
    session.expire_all()


def the_handoff(session, reference: str = "C-WAIT") -> Handoff:
    fresh(session)
    case_id = load_journey(session, reference).case.id
    return session.execute(
        select(Handoff).where(Handoff.case_id == case_id).order_by(Handoff.id.desc())
    ).scalars().first()


def test_accept_with_an_officer_starts_the_ownership(browse, session, world):
    handoff = the_handoff(session)
    response = browse("wmids").post(f"/cases/C-WAIT/handoffs/{handoff.id}/accept",
                                    {"officer": "J. Smith", "next": "/"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    fresh(session)
    journey = load_journey(session, "C-WAIT")
    [supervision] = journey.active_on(world["today"], roles=frozenset({"supervision"}))
    assert (supervision.agency, supervision.officer) == ("WMIDS", "J. Smith")


def test_accepting_twice_is_a_conflict_explained(browse, session):
    handoff = the_handoff(session)
    browser = browse("wmids")
    browser.post(f"/cases/C-WAIT/handoffs/{handoff.id}/accept")
    again = browser.post(f"/cases/C-WAIT/handoffs/{handoff.id}/accept")
    assert again.status_code == 409
    assert "is already accepted" in again.text


def test_only_the_receiver_decides(browse, session):
    handoff = the_handoff(session)
    response = browse("hewell").post(f"/cases/C-WAIT/handoffs/{handoff.id}/accept")
    assert response.status_code == 403
    assert "Only WMIDS can accept this handoff (it is the agency asked); you act for HMP-HEWELL" in response.text
    assert the_handoff(session).status == "pending"


def test_a_rejection_needs_a_reason(browse, session):
    handoff = the_handoff(session)
    browser = browse("wmids")
    refused = browser.post(f"/cases/C-WAIT/handoffs/{handoff.id}/reject", {"reason": " "})
    assert refused.status_code == 400 and "A rejection needs a reason" in refused.text
    done = browser.post(f"/cases/C-WAIT/handoffs/{handoff.id}/reject", {"reason": "not our area"})
    assert done.status_code == 303
    rejected = the_handoff(session)
    assert (rejected.status, rejected.reason) == ("rejected", "not our area")


def test_the_sender_withdraws(browse, session):
    handoff = the_handoff(session)
    assert browse("wmids").post(f"/cases/C-WAIT/handoffs/{handoff.id}/withdraw").status_code == 403
    assert browse("hewell").post(f"/cases/C-WAIT/handoffs/{handoff.id}/withdraw",
                                 {"reason": "sent in error"}).status_code == 303
    assert the_handoff(session).status == "withdrawn"


def test_a_handoff_of_another_case_is_not_found(browse, session):
    handoff = the_handoff(session)
    assert browse("wmids").post(f"/cases/C-GAP/handoffs/{handoff.id}/accept").status_code == 404


def test_request_a_transfer_with_a_due_day(browse, session, world):
    due = world["today"].isoformat()
    response = browse("hewell").post("/cases/C-SECRET/handoffs", {
        "to_agency": "WMIDS", "role": "supervision", "kind": "transfer", "due_on": due,
        "reason": "release planned"})
    assert response.status_code == 303, response.text
    fresh(session)
    [pending] = load_journey(session, "C-SECRET").pending()
    assert (pending.from_agency, pending.to_agency, pending.kind, pending.due_on.isoformat()) == (
        "HMP-HEWELL", "WMIDS", "transfer", due)


def test_a_transfer_from_an_agency_that_holds_nothing_is_refused(browse):
    response = browse("wmids").post("/cases/C-GAP/handoffs", {
        "to_agency": "STAFFS", "role": "supervision", "kind": "transfer"})
    assert response.status_code == 403  # the authority table refuses it
    assert "WMIDS cannot transfer case C-GAP" in response.text


def ownership_of(session, reference: str, agency_code: str) -> Ownership:
    journey = load_journey(session, reference)
    facts = next(o for o in journey.ownerships if o.agency == agency_code)
    return session.get(Ownership, facts.id)


def test_assign_an_officer_then_end_the_ownership(browse, session, world):
    ownership = ownership_of(session, "C-SECRET", "HMP-HEWELL")
    browser = browse("hewell")
    assigned = browser.post(f"/cases/C-SECRET/ownerships/{ownership.id}/officer",
                            {"officer": "A. Jones"})
    assert assigned.status_code == 303
    ended = browser.post(f"/cases/C-SECRET/ownerships/{ownership.id}/end", {"reason": "released"})
    assert ended.status_code == 303
    fresh(session)
    row = session.get(Ownership, ownership.id)
    assert (row.officer, row.ends_on, row.ended_reason) == ("A. Jones", world["today"], "released")


def test_another_agencys_ownership_is_not_theirs_to_end(browse, session):
    ownership = ownership_of(session, "C-SECRET", "HMP-HEWELL")
    response = browse("wmids").post(f"/cases/C-SECRET/ownerships/{ownership.id}/end")
    assert response.status_code == 403


def test_acknowledge_a_flag_with_a_note_and_a_snooze(browse, session, world):
    scan(session, world["today"])
    flag = session.execute(select(Flag).where(Flag.rule == "no-accountable-owner")).scalar_one()
    browser = browse("wmids")
    empty = browser.post(f"/cases/C-GAP/flags/{flag.id}/acknowledge", {"note": ""})
    assert empty.status_code == 400 and "needs a note" in empty.text
    until = (world["today"] + timedelta(days=3)).isoformat()
    done = browser.post(f"/cases/C-GAP/flags/{flag.id}/acknowledge",
                        {"note": "calling the hostel", "snooze_until": until})
    assert done.status_code == 303
    fresh(session)
    ack = session.execute(select(FlagAcknowledgement)).scalar_one()
    assert (ack.flag_id, ack.agency, ack.note, ack.snoozed_until.isoformat()) == (
        flag.id, "WMIDS", "calling the hostel", until)
    assert session.get(Flag, flag.id).status == "open"  # HMP-HEWELL, told too, said nothing


def test_two_agencies_on_one_flag_each_answer_for_itself(browse, session, world):
    """Hewell acknowledges C-GAP's gap; WMIDS still has it to act on, and is told who is on it."""
    scan(session, world["today"])
    flag = session.execute(select(Flag).where(Flag.rule == "no-accountable-owner")).scalar_one()
    assert flag.notify == ["HMP-HEWELL", "WMIDS"]
    hewell = browse("hewell")
    assert hewell.post(f"/cases/C-GAP/flags/{flag.id}/acknowledge",
                       {"note": "asked the OMU to call West Midlands"}).status_code == 303
    mine = hewell.get("/dashboard/flags").text
    assert "C-GAP" not in mine  # off Hewell's open flags...
    assert "C-GAP" in hewell.get("/dashboard/flags?status=acknowledged").text  # ...and kept here
    wmids = browse("wmids")
    dashboard = wmids.get("/").text
    today = dashboard[dashboard.index('id="today"'):dashboard.index('class="gw-queues"')]
    assert "C-GAP" in today and "Take supervision" in today
    assert "HMP-HEWELL is on it: asked the OMU to call West Midlands" in dashboard
    case = wmids.get("/cases/C-GAP").text
    assert "HMP-HEWELL</strong> is on it: asked the OMU to call West Midlands" in case
    assert re.search(r"Still open for <abbr title=\"[^\"]+\">WMIDS</abbr>\.", case)


def test_close_a_case(browse, session, world):
    assert browse("wmids").post("/cases/C-WAIT/close").status_code == 403
    assert browse("hewell").post("/cases/C-WAIT/close", {"reason": "died"}).status_code == 303
    fresh(session)
    assert load_journey(session, "C-WAIT").case.closed_on == world["today"]


@pytest.mark.parametrize("who", ["wmids", "auditor"])
def test_every_view_of_a_case_is_audited(browse, session, who):
    browser = browse(who)
    browser.get("/cases/C-GAP")
    browser.get("/cases/C-GAP")
    fresh(session)
    views = session.execute(
        select(AuditEvent).where(AuditEvent.action == "case.viewed",
                                 AuditEvent.case_reference == "C-GAP")
    ).scalars().all()
    assert [v.actor for v in views] == [f"user:{browser_email(who)}"] * 2


def browser_email(who: str) -> str:
    from tests.web.conftest import USERS
    return USERS[who][0]


def test_the_home_area_takes_a_gap_from_the_page_and_the_flag_goes_at_once(browse, session, world):
    scan(session, world["today"])
    hewell = browse("hewell")
    assert "Take supervision" not in hewell.get("/cases/C-GAP").text  # a prison cannot
    refused = hewell.post("/cases/C-GAP/take", {"officer": "R. Patel"})
    assert refused.status_code == 403 and "only a probation area or a youth service" in refused.text
    wmids = browse("wmids")
    page = wmids.get("/cases/C-GAP").text
    assert "Close the gap" in page and "Take supervision for WMIDS" in page
    missing = wmids.post("/cases/C-GAP/take", {"officer": ""})
    assert missing.status_code == 400 and 'aria-invalid="true"' in missing.text
    assert wmids.post("/cases/C-GAP/take", {"officer": "A. Khan"}).status_code == 303
    fresh(session)
    gap = session.execute(select(Flag).where(Flag.rule == "no-accountable-owner")).scalar_one()
    assert gap.status == "resolved"
    after = wmids.get("/cases/C-GAP").text
    assert "Close the gap" not in after and "A. Khan" in after


def test_only_the_accountable_owner_is_offered_and_allowed_closing(browse, session, world):
    wmids = browse("wmids")  # C-WAIT: Hewell holds custody; WMIDS is only asked to take it
    assert "Close the case" not in wmids.get("/cases/C-WAIT").text
    refused = wmids.post("/cases/C-WAIT/close", {"reason": "not ours"})
    assert refused.status_code == 403
    assert "Only the agency accountable for case C-WAIT can close it" in refused.text
    fresh(session)
    assert session.execute(select(Case.closed_on).where(Case.reference == "C-WAIT")).scalar() is None
    assert "Close the case" in browse("hewell").get("/cases/C-WAIT").text


@pytest.mark.parametrize(("parts", "says"), [
    (("", "2", "2027"), "The snooze day must include a day"),
    (("31", "", ""), "The snooze day must include a month and a year"),
    (("31", "2", "2027"), "The snooze day must be a real day"),
    (("3", "2", "27"), "The snooze day must have a year of four digits"),
    (("3rd", "2", "2027"), "The snooze day must be numbers only"),
])
def test_a_day_typed_in_three_boxes_is_refused_in_words(browse, session, world, parts, says):
    scan(session, world["today"])
    flag = session.execute(select(Flag).join(Case).where(Case.reference == "C-GAP")).scalars().first()
    day, month, year = parts
    refused = browse("wmids").post(f"/cases/C-GAP/flags/{flag.id}/acknowledge", {
        "note": "calling", "snooze_until-day": day, "snooze_until-month": month,
        "snooze_until-year": year})
    assert refused.status_code == 400 and says in refused.text
    assert f'value="{day}"' in refused.text  # what was typed is shown again


def test_a_day_typed_in_three_boxes_is_read(browse, session, world):
    scan(session, world["today"])
    flag = session.execute(select(Flag).join(Case).where(Case.reference == "C-GAP")).scalars().first()
    later = world["today"] + timedelta(days=3)
    done = browse("wmids").post(f"/cases/C-GAP/flags/{flag.id}/acknowledge", {
        "note": "calling", "snooze_until-day": str(later.day),
        "snooze_until-month": str(later.month), "snooze_until-year": str(later.year)})
    assert done.status_code == 303
    session.rollback()
    ack = session.execute(select(FlagAcknowledgement)).scalars().one()
    assert ack.snoozed_until == later


def test_an_acknowledgement_made_after_the_page_opened_is_not_replaced_unseen(browse, session,
                                                                              world):
    """Two duty officers of WMIDS open C-GAP's page; the first to acknowledge is kept, and the
    second is told what was said, not silently put in its place (a walk found the second's
    note replacing the first's)."""
    scan(session, world["today"])
    flag = session.execute(select(Flag).where(Flag.rule == "no-accountable-owner")).scalar_one()
    first, second = browse("wmids"), browse("wmids-duty")
    address = f"/cases/C-GAP/flags/{flag.id}/acknowledge"

    def seen(browser) -> str:
        page = browser.get("/cases/C-GAP").text
        return re.search(r'name="seen" value="([0-9a-f]*)"', page).group(1)

    first_saw, second_saw = seen(first), seen(second)
    assert first_saw == second_saw == ""  # nobody of WMIDS has acknowledged it
    assert first.post(address, {"note": "calling the hostel", "seen": first_saw}).status_code == 303
    late = second.post(address, {"note": "I will call the hostel", "seen": second_saw})
    assert late.status_code == 409
    assert "WMIDS acknowledged this flag after you opened the page" in late.text
    assert "calling the hostel" in late.text
    fresh(session)
    assert session.execute(select(FlagAcknowledgement.note)).scalar_one() == "calling the hostel"
    # Having read it, the second may replace it on purpose.
    again = second.post(address, {"note": "I will call the hostel", "seen": seen(second)})
    assert again.status_code == 303
    fresh(session)
    assert session.execute(select(FlagAcknowledgement.note)).scalar_one() == "I will call the hostel"
    # The same form sent twice (a double click, a second tab) replaces the sender's own word.
    twice = second.post(address, {"note": "I called the hostel", "seen": first_saw})
    assert twice.status_code == 303
    fresh(session)
    assert session.execute(select(FlagAcknowledgement.note)).scalar_one() == "I called the hostel"


def test_the_accepted_banner_names_the_day_the_ownership_starts(browse, session, world):
    """Hewell transfers C-SECRET to WMIDS, due in five days: WMIDS accepts it today, and is
    told its supervision starts on the due day; C-WAIT's transfer, due today, starts today."""
    from gapwatch.clock import long_day

    due = world["today"] + timedelta(days=5)
    assert browse("hewell").post("/cases/C-SECRET/handoffs", {
        "to_agency": "WMIDS", "role": "supervision", "kind": "transfer",
        "due_on": due.isoformat(), "reason": "release planned"}).status_code == 303
    fresh(session)
    [pending] = load_journey(session, "C-SECRET").pending()
    wmids = browse("wmids")
    accepted = wmids.post(f"/cases/C-SECRET/handoffs/{pending.id}/accept",
                          {"officer": "J. Smith"})
    assert accepted.status_code == 303
    said = wmids.get(accepted.headers["Location"]).text
    assert (f"Accepted: WMIDS takes supervision of case C-SECRET, starting on {long_day(due)}."
            in said)
    waiting = the_handoff(session)
    accepted = wmids.post(f"/cases/C-WAIT/handoffs/{waiting.id}/accept", {})
    said = wmids.get(accepted.headers["Location"]).text
    assert "Accepted: WMIDS takes supervision of case C-WAIT, starting today." in said


def wmids_takes_the_gap_later(browse, session, world):
    """Hewell refers C-GAP to WMIDS, due in three days, and WMIDS accepts today: return the day
    WMIDS takes over and Hewell's browser."""
    scan(session, world["today"])
    due = world["today"] + timedelta(days=3)
    hewell = browse("hewell")
    assert hewell.post("/cases/C-GAP/handoffs", {
        "to_agency": "WMIDS", "kind": "referral", "due_on": due.isoformat()}).status_code == 303
    handoff = the_handoff(session, "C-GAP")
    assert browse("wmids").post(f"/cases/C-GAP/handoffs/{handoff.id}/accept",
                                {"officer": "A. Khan"}).status_code == 303
    return due, hewell


def test_the_gaps_flag_names_who_accepted_it_from_a_later_day(browse, session, world):
    """C-GAP: Hewell refers him to WMIDS, due in three days, and WMIDS accepts today. Nobody
    is accountable until then, so the flag stays, but it says who is coming and from when
    (a walk of the demo's WM-1001 found it still saying only that nobody took over)."""
    from gapwatch.clock import long_day

    due, hewell = wmids_takes_the_gap_later(browse, session, world)
    page = hewell.get("/cases/C-GAP").text
    flag = re.search(r'<li id="flag-\d+" class="gw-flag.*?</li>', page, flags=re.S).group(0)
    assert "no-accountable-owner" in flag
    assert f"nobody has taken over yet; WMIDS accepted supervision from {long_day(due)}." in flag
    # WMIDS reads it of itself as "you", on the case page and in its morning list.
    wmids = browse("wmids")
    page = wmids.get("/cases/C-GAP").text
    panel = words(page[page.index('id="close-gap"'):page.index("</section>", page.index('id="close-gap"'))])
    assert (f"You accepted HMP-HEWELL’s request on {long_day(world['today'])} and take supervision from "
            f"{long_day(due)}: until then nobody is accountable.") in panel
    assert f"You take it from {long_day(due)}" in words(wmids.get("/").text)
    assert "its supervision ends the day you take over" in panel


def words(html: str) -> str:
    """A page's text as a person reads it: no tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_after_asking_an_agency_the_gap_says_who_was_asked_and_does_not_invite_it_again(
        browse, session, world):
    """C-GAP: Hewell asks WMIDS to supervise. Its page and its morning list then say whom it
    asked and when, not "ask an agency" as if nobody had been (a walk of the demo's WM-1001
    found both still inviting it), and WMIDS is no longer among the receivers (a case has one
    pending handoff to an agency at most). WMIDS is taken to its decision."""
    from gapwatch.clock import long_day

    scan(session, world["today"])
    hewell = browse("hewell")
    before = hewell.get("/cases/C-GAP").text
    assert "Ask an agency that can supervise to take the case" in before
    assert 'value="WMIDS"' in before
    assert hewell.post("/cases/C-GAP/handoffs", {
        "to_agency": "WMIDS", "kind": "referral", "reason": "hostel in Dudley"}).status_code == 303
    page = hewell.get("/cases/C-GAP").text
    panel = words(page[page.index('id="close-gap"'):page.index("</section>", page.index('id="close-gap"'))])
    assert (f"You asked West Midlands Probation (WMIDS) on {long_day(world['today'])} to "
            "take supervision (referral): waiting for its answer ( chase or withdraw the "
            "request )") in panel
    assert "Ask an agency that can supervise to take the case" not in panel
    assert "If it cannot take the case, ask another agency that can supervise" in panel
    receivers = re.search(r'<select[^>]*id="request-to_agency".*?</select>', page, flags=re.S)
    assert 'value="WMIDS"' not in receivers.group(0) and 'value="STAFFS"' in receivers.group(0)

    morning = words(hewell.get("/").text)
    assert f"Waiting for WMIDS, asked {long_day(world['today'])}" in morning
    assert "Ask an agency to take the case" not in morning
    wmids = browse("wmids")
    assert (f"HMP-HEWELL asked you on {long_day(world['today'])} to take supervision "
            "(referral): accept or reject it") in words(wmids.get("/cases/C-GAP").text)
    handoff = the_handoff(session, "C-GAP")
    assert wmids.get("/").text.count(f'id="today-accept-{handoff.id}-officer"') == 1


def test_a_youth_service_closes_the_gap_at_18_from_the_flag(app, browse, session, world):
    """C-YOUNG turns 18 in 40 days under the youth service, and nobody adult has been asked.
    It is not in a gap yet, but its flag warns of one: signed in as the youth service, the page
    offers to ask the home area to take supervision from the 18th birthday, as a transfer (a
    walk found no 'Close the gap' step on the demo's youth cases, only the form at the foot of
    the page). The home area, which holds nothing and may not ask, is offered nothing."""
    from gapwatch import operations as ops
    from gapwatch.web.cases import eighteenth_birthday
    from tests.support import PASSWORD, act, event, load, person_and_case, sign_in
    from tests.web.conftest import Browser

    today = world["today"]
    born = today.replace(year=today.year - 18) + timedelta(days=40)
    birthday = eighteenth_birthday(born)
    person_and_case(session, "C-YOUNG", opened_on=world["start"], born=born)
    load(session, event("C-YOUNG", world["start"], "ownership_started", agency="YOS-WORCS",
                        role="supervision", officer="L. Green"))
    scan(session, today)
    act(session, ops.add_user, email="cm@yos.example", role="case_manager", password=PASSWORD,
        agency="YOS-WORCS")
    youth = Browser(app.test_client())
    youth.token = sign_in(youth.client, "cm@yos.example")
    page = youth.get("/cases/C-YOUNG").text
    assert "age-transition" in page and "Close the gap before it opens" in page
    assert "as a transfer, your supervision ends on the day they take over" in page
    panel = page[page.index('id="close-gap"'):page.index("</section>", page.index('id="close-gap"'))]
    for field, value in (("to_agency", "WMIDS"), ("kind", "transfer"),
                         ("due_on", birthday.isoformat())):
        assert f'name="{field}" value="{value}"' in panel
    assert "Close the gap" not in browse("wmids").get("/cases/C-YOUNG").text
    # The morning list's step goes to that panel, in its words (it went to the form at the
    # foot of the page, as 'Refer to an adult service').
    morning = youth.get("/").text
    assert 'href="/cases/C-YOUNG#close-gap"' in morning
    assert "Ask WMIDS to take supervision" in morning
    assert "Refer to an adult service" not in morning

    # Past the birthday, the request is due today: unanswered, it falls overdue tomorrow
    # (it went with no due day, so nothing would ever say nobody answered).
    person_and_case(session, "C-EIGHTEEN", opened_on=world["start"],
                    born=today.replace(year=today.year - 18) - timedelta(days=3))
    load(session, event("C-EIGHTEEN", world["start"], "ownership_started", agency="YOS-WORCS",
                        role="supervision", officer="L. Green"))
    scan(session, today)
    late = youth.get("/cases/C-EIGHTEEN").text
    late = late[late.index('id="close-gap"'):late.index("</section>", late.index('id="close-gap"'))]
    assert "now, by today" in late and f'name="due_on" value="{today.isoformat()}"' in late

    asked = youth.post("/cases/C-YOUNG/handoffs", {
        "place": "gap-ahead", "to_agency": "WMIDS", "role": "supervision", "kind": "transfer",
        "due_on": birthday.isoformat(), "reason": "turns 18"})
    assert asked.status_code == 303, asked.text
    fresh(session)
    [pending] = load_journey(session, "C-YOUNG").pending()
    assert (pending.from_agency, pending.to_agency, pending.kind, pending.due_on) == (
        "YOS-WORCS", "WMIDS", "transfer", birthday)
    after = youth.get("/cases/C-YOUNG").text
    assert "No open flags." in after and "Close the gap" not in after


def test_a_request_accepted_too_late_says_why_and_links_nowhere_missing(browse, session, world):
    """Hewell asks STAFFS and WMIDS to take C-GAP; WMIDS accepts. STAFFS, on a page it had
    open, presses Accept: the refusal says the request was superseded, by whom, and its error
    summary does not link to the accept form, which is no longer on the page (a walk found
    links to #accept-30-officer and #take-officer that went nowhere)."""
    from gapwatch.clock import long_day

    scan(session, world["today"])
    hewell = browse("hewell")
    for to in ("STAFFS", "WMIDS"):
        assert hewell.post("/cases/C-GAP/handoffs", {
            "to_agency": to, "kind": "referral"}).status_code == 303
    fresh(session)
    ids = {h.to_agency: h.id for h in load_journey(session, "C-GAP").pending()}
    staffs = browse("staffs")
    # Asked to end a gap it is not told of, STAFFS reads so in its morning list, not a routine
    # request (the walk found WARKS's and WMERCIA's so).
    assert ("HMP-HEWELL asks you to take supervision (referral) to end a gap: nobody is "
            "accountable for this person") in words(staffs.get("/").text)
    assert browse("wmids").post(f"/cases/C-GAP/handoffs/{ids['WMIDS']}/accept",
                                {"officer": "A. Khan"}).status_code == 303
    late = staffs.post(f"/cases/C-GAP/handoffs/{ids['STAFFS']}/accept",
                                 {"officer": "B. Cole", "place": f"accept-{ids['STAFFS']}"})
    assert late.status_code == 409
    summary = late.text[late.text.index("govuk-error-summary"):]
    summary = summary[:summary.index("</ul>")]
    assert (f"already withdrawn (superseded: WMIDS accepted supervision from "
            f"{long_day(world['today'])})") in summary
    assert f'id="accept-{ids["STAFFS"]}-officer"' not in late.text
    assert "<a href=" not in summary


def test_an_agency_asked_to_cover_until_another_takes_over_is_told_so(browse, session, world):
    """WMIDS accepted C-GAP from three days on; Hewell asks STAFFS to cover meanwhile. STAFFS's
    morning list says the cover ends when WMIDS takes over, its banner and "Accountable today"
    say until when, and its own form does not offer WMIDS, which the operation would refuse
    (a walk found all three missing)."""
    from gapwatch.clock import long_day

    due, hewell = wmids_takes_the_gap_later(browse, session, world)
    assert hewell.post("/cases/C-GAP/handoffs", {
        "to_agency": "STAFFS", "kind": "referral"}).status_code == 303
    staffs = browse("staffs")
    assert (f"HMP-HEWELL asks you to take supervision (referral) to cover a gap until WMIDS "
            f"takes over on {long_day(due)}: nobody is accountable until then"
            ) in words(staffs.get("/").text)
    # Its case page shows it the gap and the request, and what accepting means.
    page = staffs.get("/cases/C-GAP").text
    panel = words(page[page.index('id="close-gap"'):page.index("</section>", page.index('id="close-gap"'))])
    assert "HMP-HEWELL asked you on" in panel and "accept or reject it" in panel
    assert (f"If you accept, your supervision ends the day WMIDS takes over, on {long_day(due)}."
            ) in panel
    fresh(session)
    [asked] = load_journey(session, "C-GAP").pending()
    accepted = staffs.post(f"/cases/C-GAP/handoffs/{asked.id}/accept", {"officer": "B. Cole"},
                           follow_redirects=True)
    assert (f"starting today, until WMIDS takes over on {long_day(due)}."
            ) in words(accepted.text)
    page = staffs.get("/cases/C-GAP").text
    today = page[page.index('id="today-h"'):page.index("</section>", page.index('id="today-h"'))]
    assert f"supervision since {long_day(world['today'])}, until {long_day(due)}" in words(today)
    receivers = re.search(r'<select[^>]*id="request-to_agency".*?</select>', page, flags=re.S)
    assert receivers and 'value="WMIDS"' not in receivers.group(0)
