"""The dashboard's queues: what waits for an agency, paged, filtered, set-based."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from cachelib import FileSystemCache
from sqlalchemy import event as sql_event
from sqlalchemy import select, update

from gapwatch import create_app, db, stamp
from gapwatch import operations as ops
from gapwatch.models import Agency, Case, Flag, Handoff
from gapwatch.scan import scan
from gapwatch.web.access import visible_to_agency
from gapwatch.web.dashboard import CSRF_MARK, Bodies
from tests.alerts.conftest import raise_flag
from tests.support import event, load, person_and_case
from tests.web.conftest import Browser, csrf_token


def section(html: str, name: str) -> str:
    start = html.index(f'<section class="gw-queue" id="{name}"')
    return html[start:html.index("</section>", start)]


def test_a_case_manager_sees_what_waits_for_their_agency_and_what_it_sent(browse):
    wmids = browse("wmids").get("/").text
    assert ">C-WAIT</a>" in section(wmids, "waiting")
    assert "C-WAIT" not in section(wmids, "sent")
    hewell = browse("hewell").get("/").text
    assert ">C-WAIT</a>" in section(hewell, "sent")
    assert "C-WAIT" not in section(hewell, "waiting")
    assert 'Accept<span class="govuk-visually-hidden"> C-WAIT' not in hewell  # only the receiver decides


def test_flags_show_by_severity_with_new_ones_marked(browse, session, world):
    scan(session, world["today"])
    flags = section(browse("wmids").get("/").text, "flags")
    assert ">C-GAP</a>" in flags and "no-accountable-owner" in flags
    assert "critical" in flags and ">new</strong>" in flags
    assert "C-GAP" not in section(browse("staffs").get("/").text, "flags")
    high_only = browse("wmids").get("/dashboard/flags?severity=low").text
    assert "C-GAP" not in high_only


def test_unallocated_lists_accountable_ownerships_without_an_officer(browse):
    unallocated = section(browse("hewell").get("/").text, "unallocated")
    assert ">C-WAIT</a>" in unallocated and ">C-SECRET</a>" in unallocated
    assert "C-GAP" not in unallocated  # that custody has ended


def test_counts_link_to_their_filtered_lists(browse, session, world):
    scan(session, world["today"])
    page = browse("wmids").get("/").text
    assert '<strong>1</strong> waiting for a decision' in page
    assert 'href="/dashboard/flags?severity=critical"><strong>1</strong> critical flag</a>' in page


def test_new_since_yesterday_opens_only_the_new_flags(browse, session, world):
    scan(session, world["today"])
    raise_flag(session, "C-WAIT", rule="release-unplanned", severity="high",
               since=world["today"] - timedelta(days=9), notify=["WMIDS"],
               first_seen_on=world["today"] - timedelta(days=9), last_seen_on=world["today"])
    page = browse("wmids").get("/").text
    assert 'href="/dashboard/flags?new=1"><strong>1</strong> new since yesterday' in page
    every = section(browse("wmids").get("/dashboard/flags").text, "flags")
    assert ">C-GAP</a>" in every and ">C-WAIT</a>" in every
    new = section(browse("wmids").get("/dashboard/flags?new=1").text, "flags")
    assert ">C-GAP</a>" in new and ">C-WAIT</a>" not in new


def test_a_queue_is_a_fragment_for_htmx_and_a_page_without_javascript(browse):
    browser = browse("wmids")
    fragment = browser.get("/dashboard/waiting", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<section") and "<html" not in fragment
    page = browser.get("/dashboard/waiting").text
    assert "<html" in page and ">C-WAIT</a>" in page
    assert browser.get("/dashboard/nonsense").status_code == 404


def many_waiting(session, world, count: int) -> None:
    start = world["start"]
    for n in range(count):
        person_and_case(session, f"C-MANY-{n:02d}", opened_on=start)
    load(session, *[
        record for n in range(count) for record in (
            event(f"C-MANY-{n:02d}", start, "ownership_started", agency="HMP-HEWELL",
                  role="custody"),
            event(f"C-MANY-{n:02d}", start, "handoff_requested", from_agency="HMP-HEWELL",
                  to_agency="WMIDS", role="supervision", kind="referral"),
        )
    ])


def test_queues_page_and_filter(browse, session, world):
    many_waiting(session, world, 24)
    browser = browse("wmids")
    first = browser.get("/dashboard/waiting").text
    assert first.count('Accept<span class="govuk-visually-hidden"> C-') == 20 and "Next →" in first
    second = browser.get("/dashboard/waiting?page=2").text
    assert second.count('Accept<span class="govuk-visually-hidden"> C-') == 5 and "← Previous" in second
    assert ">C-WAIT</a>" in first  # due today: before the ones with no due day
    found = browser.get("/dashboard/waiting?q=many-07").text
    assert found.count('Accept<span class="govuk-visually-hidden"> C-') == 1 and ">C-MANY-07</a>" in found


def count_queries(app, browser, url: str) -> int:
    statements = []
    engine = db.get_engine(app)
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sql_event.listen(engine, "before_cursor_execute", listener)
    try:
        assert browser.get(url).status_code == 200
    finally:
        sql_event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def changed(session) -> None:
    """Commit a unit of work that changes nothing but the data stamp, as any write does."""
    with ops.unit_of_work(session, ops.Actor.system("test")):
        pass


@pytest.mark.parametrize(("who", "url"), [
    ("wmids", "/"), ("wmids", "/dashboard/waiting"), ("hewell", "/"),
    ("hewell", "/dashboard/sent"), ("hewell", "/dashboard/unallocated"),
    ("hewell", "/dashboard/flags"),
])
def test_the_dashboard_runs_no_query_per_row(app, browse, session, world, who, url):
    browser = browse(who)
    scan(session, world["today"])  # also a write: the first count is of a page rendered afresh
    few = count_queries(app, browser, url)
    before = browser.get(url).text.count("<tr")
    many_waiting(session, world, 15)  # Hewell's custody, unallocated, referred to WMIDS
    scan(session, world["today"])
    assert count_queries(app, browser, url) == few
    assert browser.get(url).text.count("<tr") > before  # the lists did grow


@pytest.mark.parametrize(("chosen", "label"), [("agency=STAFFS", "STAFFS"),
                                               ("region=West+Midlands", "the West Midlands region"),
                                               ("", "every agency")])
def test_auditors_and_admins_choose_an_agency_or_region(browse, chosen, label):
    page = browse("auditor").get(f"/?{chosen}").text
    assert label in page
    waiting = section(page, "waiting")
    assert (">C-WAIT</a>" in waiting) is (chosen != "agency=STAFFS")
    assert "Waiting for a decision" in waiting and "your decision" not in page  # they decide nothing


def test_a_case_manager_is_asked_for_their_own_decision(browse):
    assert "Waiting for your decision" in section(browse("wmids").get("/").text, "waiting")


def test_a_kept_dashboard_is_served_until_anything_changes(app, browse, session, world):
    browser = browse("wmids")
    changed(session)
    rendered = count_queries(app, browser, "/")
    assert count_queries(app, browser, "/") <= 3 < rendered  # the account, the stamp, no more
    assert ">C-WAIT</a>" in browser.get("/").text
    handoff = session.execute(select(Handoff.id).where(Handoff.status == "pending")
                              .join(Case).where(Case.reference == "C-WAIT")).scalar_one()
    assert browser.post(f"/cases/C-WAIT/handoffs/{handoff}/accept",
                        {"officer": "A. Khan", "next": "/"}).status_code == 303
    assert ">C-WAIT</a>" not in browser.get("/").text  # the accept gave the data a new stamp


def test_a_kept_dashboard_carries_each_readers_own_csrf_token(browse, session, world):
    first, second = browse("wmids"), browse("wmids-duty")
    changed(session)
    page = first.get("/").text
    kept = second.get("/").text  # the same body, served again
    assert CSRF_MARK not in page and CSRF_MARK not in kept
    assert csrf_token(page) != csrf_token(kept)  # each reader's own, though the body is kept
    handoff = session.execute(select(Handoff.id).where(Handoff.status == "pending")
                              .join(Case).where(Case.reference == "C-WAIT")).scalar_one()
    accepted = second.client.post(f"/cases/C-WAIT/handoffs/{handoff}/accept", data={
        "officer": "B. Jones", "next": "/", "csrf_token": csrf_token(kept)})
    assert accepted.status_code == 303  # the second reader's token from the kept body holds


def another_worker(app, **settings):
    """A second app on the same database and instance folder: another gunicorn worker."""
    names = ("TESTING", "DATABASE_URL", "SECRET_KEY", "BASE_URL", "AUDIT_KEY_FILE", "CHECKPOINT_DIR")
    other = create_app({**{name: app.config[name] for name in names}, **settings})
    other.instance_path = app.instance_path
    return other


def test_a_dashboard_one_worker_rendered_is_served_by_the_others(app, browse, session, world):
    first = browse("wmids")
    other = another_worker(app)
    second = Browser(other.test_client()).sign_in("wmids")
    changed(session)
    assert count_queries(app, first, "/") > 3  # rendered by the first worker...
    assert count_queries(other, second, "/") <= 3  # ...and served by the second from the folder
    assert CSRF_VALUE.sub("", first.get("/").text) == CSRF_VALUE.sub("", second.get("/").text)
    assert CSRF_MARK not in second.get("/").text  # with the second reader's own token put in
    assert first.post(f"/cases/C-WAIT/handoffs/{pending(session, 'C-WAIT')}/accept",
                      {"officer": "A. Khan", "next": "/"}).status_code == 303
    assert count_queries(other, second, "/") > 3  # a change: the second renders it afresh...
    assert count_queries(app, first, "/") <= 3  # ...once, for both
    assert ">C-WAIT</a>" not in first.get("/").text


def test_the_shared_folder_keeps_one_body_per_dashboard_however_often_the_data_changes(
        app, browse, session, world):
    wmids, staffs = browse("wmids"), browse("staffs")
    folder = FileSystemCache(str(Path(app.instance_path) / "kept"))
    before = set(folder._list_dir())  # the bodies' files, less cachelib's own count
    for _ in range(4):
        changed(session)
        assert count_queries(app, wmids, "/") > 3  # rendered under the new stamps...
        assert count_queries(app, staffs, "/?q=C-WAIT") > 3
    assert len(set(folder._list_dir()) - before) == 2  # ...and each kept in its one file
    other = another_worker(app)  # which holds the body of the latest stamps: served as it is
    assert count_queries(other, Browser(other.test_client()).sign_in("wmids"), "/") <= 3


def test_a_body_another_release_kept_is_never_served(app, browse, session, world):
    first = browse("wmids")
    other = another_worker(app, RULE_ALLOCATION_DAYS=9)  # a setting the morning list reads
    second = Browser(other.test_client()).sign_in("wmids")
    changed(session)
    assert count_queries(app, first, "/") > 3
    assert count_queries(other, second, "/") > 3  # not the body the other release rendered
    assert count_queries(app, first, "/") <= 3


def test_a_kept_dashboard_is_not_served_to_another_agency_or_role(browse, session, world):
    changed(session)
    assert ">C-WAIT</a>" in browse("wmids").get("/").text
    assert ">C-WAIT</a>" not in browse("staffs").get("/").text
    assert 'Accept<span class="govuk-visually-hidden"> C-WAIT' not in browse("auditor").get("/?agency=WMIDS").text


def test_a_kept_dashboard_reads_each_argument_as_the_page_does(browse, session, world):
    browser = browse("wmids")
    assert ">C-WAIT</a>" in browser.get("/?q=C-WAIT&q=C-GAP").text
    assert ">C-WAIT</a>" not in browser.get("/?q=C-GAP&q=C-WAIT").text  # not the first's body


def test_text_that_looks_like_the_token_mark_is_shown_as_text(browse):
    page = browse("wmids").get("/?q=%3Cgapwatch-csrf-token%3E").text
    assert "&lt;gapwatch-csrf-token&gt;" in page
    token = csrf_token(page)
    assert page.count(token) == page.count('name="csrf_token"')  # only in the forms' fields


CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="[^"]*"')
AGENCIES = ("wmids", "hewell", "staffs")


def served_as_rendered_afresh(app, browsers: dict) -> set[str]:
    """Check each agency's dashboard, as served, against one rendered afresh; return the
    agencies whose dashboard was served again (kept) rather than rendered."""
    served = {who: (count_queries(app, b, "/"), b.get("/").text) for who, b in browsers.items()}
    app.extensions["gapwatch.dashboard"] = Bodies()  # forget every kept body
    for who, browser in browsers.items():
        fresh = browser.get("/").text
        assert CSRF_VALUE.sub("", served[who][1]) == CSRF_VALUE.sub("", fresh), who
    return {who for who, (queries, _page) in served.items() if queries <= 3}


def pending(session, reference: str) -> int:
    return session.execute(select(Handoff.id).where(Handoff.status == "pending")
                           .join(Case).where(Case.reference == reference)).scalar_one()


def test_a_change_to_cases_renders_again_only_the_dashboards_of_the_agencies_they_involve(
        app, browse, session, world):
    browsers = {who: browse(who) for who in AGENCIES}
    scan(session, world["today"])
    for browser in browsers.values():
        browser.get("/")  # each agency's body kept under the scan's stamps
    wmids, hewell = browsers["wmids"], browsers["hewell"]
    # WMIDS accepts Hewell's transfer of C-WAIT: Hewell's and WMIDS's dashboards change.
    assert wmids.post(f"/cases/C-WAIT/handoffs/{pending(session, 'C-WAIT')}/accept",
                      {"officer": "A. Khan", "next": "/"}).status_code == 303
    assert served_as_rendered_afresh(app, browsers) == {"staffs"}
    # WMIDS acknowledges the gap on C-GAP: the flag tells WMIDS (and Hewell, its last owner).
    gap = session.execute(select(Flag.id, Flag.notify).join(Case)
                          .where(Case.reference == "C-GAP", Flag.status == "open")).one()
    assert wmids.post(f"/cases/C-GAP/flags/{gap.id}/acknowledge",
                      {"note": "calling the prison", "next": "/"}).status_code == 303
    kept = served_as_rendered_afresh(app, browsers)
    assert "staffs" in kept and not {"wmids", *(w.lower() for w in gap.notify)} & kept - {"staffs"}
    # Hewell asks Staffordshire, never part of C-SECRET, to take it: now Staffordshire is.
    assert hewell.post("/cases/C-SECRET/handoffs", {
        "to_agency": "STAFFS", "kind": "transfer", "next": "/"}).status_code == 303
    assert "staffs" not in served_as_rendered_afresh(app, browsers)
    assert "C-SECRET" in section(browsers["staffs"].get("/").text, "waiting")
    # WMIDS takes C-GAP: the gap's flag resolves for everyone it told.
    assert wmids.post("/cases/C-GAP/take", {"officer": "B. Jones", "next": "/"}).status_code == 303
    served_as_rendered_afresh(app, browsers)
    # A change to an agency reaches every agency's dashboard.
    staffs = session.execute(select(Agency).where(Agency.code == "STAFFS")).scalar_one()
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:
        ops.save_agency(uow, code="STAFFS", name="Staffordshire and Stoke", kind=staffs.kind,
                        region=staffs.region)
    assert served_as_rendered_afresh(app, browsers) == set()


def test_a_flag_that_stops_telling_an_agency_leaves_its_dashboard_too(app, browse, session, world):
    browsers = {who: browse(who) for who in AGENCIES}
    scan(session, world["today"])
    gap, told = session.execute(select(Flag.id, Flag.notify).join(Case)
                                .where(Case.reference == "C-GAP")).one()
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:  # as if Staffordshire
        uow.session.execute(update(Flag).where(Flag.id == gap)    # had once been told of it
                            .values(notify=[*told, "STAFFS"]))
    assert "C-GAP" in section(browsers["staffs"].get("/").text, "flags")
    # Hewell asks WMIDS to take C-GAP: the gap stays, and its flag is refreshed to tell only
    # those the rule names. Staffordshire is part of nothing on C-GAP now, but was told before.
    assert browsers["hewell"].post("/cases/C-GAP/handoffs", {
        "to_agency": "WMIDS", "kind": "referral", "next": "/"}).status_code == 303
    session.expire_all()
    assert session.execute(select(Flag.notify, Flag.status).where(Flag.id == gap)).one() == (
        told, "open")
    assert "staffs" not in served_as_rendered_afresh(app, browsers)
    assert "C-GAP" not in section(browsers["staffs"].get("/").text, "flags")


def test_a_scan_renders_every_agencys_dashboard_again(app, browse, session, world):
    """A scan rewords flags without an audit entry and may stop telling an agency of one: a
    later scan the same day reaches every agency's dashboard."""
    browsers = {who: browse(who) for who in AGENCIES}
    scan(session, world["today"])
    flag = dict(session.execute(select(Case.reference, Flag.id).join(Case)).all())
    gap, told = session.execute(select(Flag.id, Flag.notify).where(Flag.id == flag["C-GAP"])).one()
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:  # no entry: renews all
        uow.session.execute(update(Flag).where(Flag.id == gap)
                            .values(notify=[*told, "STAFFS"], message="OLD WORDING"))
    assert "OLD WORDING" in browsers["wmids"].get("/").text
    assert "C-GAP" in section(browsers["staffs"].get("/").text, "flags")
    scan(session, world["today"], full=True)  # `gapwatch scan --full`, later that day
    assert session.execute(select(Flag.notify).where(Flag.id == gap)).scalar_one() == told
    served_as_rendered_afresh(app, browsers)
    assert "OLD WORDING" not in browsers["wmids"].get("/").text


def test_every_agency_that_may_see_a_case_is_one_its_changes_reach(session, world):
    """`stamp.involved` names at least the agencies `access.visible_to_agency` lets see a case
    (and those its flags tell): the two say who is part of a case, and must not drift apart."""
    scan(session, world["today"])
    agencies = session.execute(select(Agency.id, Agency.code)).all()
    for case_id, reference in session.execute(select(Case.id, Case.reference)).all():
        sees = {code for agency_id, code in agencies if session.execute(
            select(Case.id).where(Case.id == case_id, visible_to_agency(agency_id))).first()}
        reached = {code for agency_id, code in agencies
                   if agency_id in stamp.involved(session, [case_id])}
        assert sees <= reached, reference
        assert sees, reference  # the world's every case is someone's
