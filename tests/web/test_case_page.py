"""The case page: the person, who is accountable, flags, the journey picture and the history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gapwatch.clock import long_day
from gapwatch.scan import scan
from gapwatch.web.cases import history_lines
from tests.support import person_and_case


def test_the_page_shows_who_is_accountable_the_picture_and_the_history(browse, world):
    page = browse("wmids").get("/cases/C-WAIT").text
    assert "Sam Example" in page and ", age " in page
    assert re.search(r"<strong>[^<]*<span class=\"gw-code\">\(HMP-HEWELL\)</span></strong>: custody since", page)
    assert '<svg class="tl"' in page and "Journey of case C-WAIT" in page
    assert "pending transfer" in page
    assert "Handoff requested" in page and "Case viewed" not in page
    assert "Opened 1 time, this time included." in page
    assert "Opened 2 times" in browse("wmids").get("/cases/C-WAIT").text


def test_a_gap_is_said_in_words(browse, session, world):
    scan(session, world["today"])
    page = browse("wmids").get("/cases/C-GAP").text
    assert "Nobody is accountable for this person today." in page
    assert "GAP · " in page
    assert "no-accountable-owner" in page and "Acknowledge for WMIDS or snooze" in page


def test_a_gap_begun_today_says_so(browse, session, world):
    # The page read the gaps before today only: a gap begun today had no day at all.
    today = world["today"]
    person_and_case(session, "C-TODAY", opened_on=today)
    scan(session, today)
    page = browse("wmids").get("/cases/C-TODAY").text
    assert "Nobody is accountable for this person today." in page
    assert f"The gap began on {long_day(today)}." in page
    # Nor is it a gap of "0 days", in the picture or the list of its days.
    assert "GAP · since today" in page and "Gap: nobody accountable since today, still open." in page
    assert not re.search(r"\b0 days", page)


def test_the_18th_birthday_shows_when_it_is_near(browse, session, world):
    today = world["today"]
    born = today.replace(year=today.year - 18) + timedelta(days=40)
    person_and_case(session, "C-YOUNG", opened_on=world["start"], born=born)
    page = browse("wmids").get("/cases/C-YOUNG").text
    assert "18th birthday" in page and "in 40 days" in page
    assert "18th birthday" not in browse("wmids").get("/cases/C-WAIT").text


def test_an_auditor_reads_without_any_form_to_act(browse):
    page = browse("auditor").get("/cases/C-WAIT").text
    assert "Journey of case C-WAIT" in page
    for action in ("/accept", "/reject", "/withdraw", "/handoffs\"", "/close", "/officer"):
        assert action not in page


def test_the_receiver_sees_the_decision_forms_and_the_sender_the_withdraw_form(browse):
    receiver = browse("wmids").get("/cases/C-WAIT").text
    assert "/accept" in receiver and "/reject" in receiver and "/withdraw" not in receiver
    sender = browse("hewell").get("/cases/C-WAIT").text
    assert "/withdraw" in sender and "/accept" not in sender


def test_every_form_has_a_csrf_token_and_every_field_a_label(browse):
    import re
    page = browse("hewell").get("/cases/C-WAIT").text
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.S)
    assert forms
    for form in forms:
        assert 'name="csrf_token"' in form
        for ident in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', form):
            assert f'for="{ident}"' in page, ident
        visible = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*>', form)
        assert all('id="' in field for field in visible), visible


def test_auditors_find_the_audit_trail_and_the_exports_case_managers_do_not(browse):
    auditor = browse("auditor").get("/cases/C-WAIT").text
    assert 'href="/audit"' in auditor and 'href="/cases/C-WAIT/export.pdf"' in auditor
    manager = browse("wmids").get("/cases/C-WAIT").text
    assert 'href="/audit"' not in manager and "export.pdf" not in manager


def test_the_history_says_what_each_change_changed():
    at = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
    accepted = {"effective_on": "2026-11-05",
                "before": {"id": 9, "status": "pending", "decided_on": None, "reason": None},
                "after": {"id": 9, "status": "accepted", "decided_on": "2026-11-05", "reason": None}}
    renamed = {"before": {"given_name": "Sam", "risk_level": "low"},
               "after": {"given_name": "Samuel", "risk_level": "high"}}
    opened = {"after": {"id": 3, "kind": "referral", "due_on": None}}
    lines = history_lines([(at, "user:a", "handoff.accepted", accepted),
                           (at, "user:a", "person.updated", renamed),
                           (at, "user:a", "handoff.requested", opened)], details_shown=False)
    # In words: no record ids, no field names with underscores, days as people write them.
    assert lines[0] == (at, "user:a", "Handoff accepted", [
        ("changed", "status: pending → accepted; decided on: — → 5 November 2026"),
        ("effective on", "5 November 2026")])
    assert lines[1][3] == [("changed", "given name: withheld → withheld; risk level: low → high")]
    assert lines[2][3] == [("new", "kind: referral")]
    shown = history_lines([(at, "user:a", "person.updated", renamed)], details_shown=True)
    assert shown[0][3] == [("changed", "given name: Sam → Samuel; risk level: low → high")]
    listed = history_lines([(at, "user:a", "flag.raised", {"notify": ["HMP-HEWELL", "WMIDS"]})],
                           details_shown=True)
    assert listed[0][3] == [("notify", "HMP-HEWELL, WMIDS")]
    # A flag's evidence holds records in lists (the last owners, the bounced handoffs): in words too.
    evidence = {"evidence": {"last_owners": [{"agency": "HMP-HEWELL", "role": "custody"}],
                             "handoffs": [{"id": 5, "status": "rejected", "decided_on": "2026-09-30"}]}}
    raised = history_lines([(at, "system:scan", "flag.opened", evidence)], details_shown=True)
    assert raised[0][3] == [("evidence", "last owners: (agency HMP-HEWELL, role custody); "
                                         "handoffs: (status rejected, decided on 30 September 2026)")]


def test_a_flags_history_leaves_out_its_id_and_its_rules_own_key():
    """A flag's entry once showed 'flag: 1' and 'subject: gap:2026-11-29': the message says it."""
    at = datetime(2026, 12, 5, 0, 5, tzinfo=UTC)
    opened = {"flag": 1, "rule": "no-accountable-owner", "subject": "gap:2026-11-29",
              "message": "Nobody is accountable for this person since 29 November 2026.",
              "since": "2026-11-29"}
    [line] = history_lines([(at, "system:scan", "flag.opened", opened)], details_shown=True)
    assert line[3] == [("rule", "no-accountable-owner"),
                       ("message", "Nobody is accountable for this person since 29 November 2026."),
                       ("since", "29 November 2026")]


def kinds_offered(page: str) -> list[str]:
    """The labels of the hand-on form's kinds, as the select shows them."""
    select = re.search(r'<select[^>]*id="request-kind".*?</select>', page, flags=re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_a_prison_asking_in_the_gap_after_release_is_not_told_it_keeps_anything(
        browse, session, world):
    """C-GAP: Hewell's custody ended at release. As its last owner it may ask an area to
    supervise: a referral (a transfer hands on what the sender holds, and it holds nothing).
    The kind must not say "you keep yours" (a walk found Hewell offered only that); on C-WAIT,
    where it holds custody, it may transfer or refer and keeps custody on a referral."""
    scan(session, world["today"])
    hewell = browse("hewell")
    assert kinds_offered(hewell.get("/cases/C-GAP").text) == [
        "referral (they take it on: you hold no part of the case today)"]
    offered = kinds_offered(hewell.get("/cases/C-WAIT").text)
    assert [k.split(" — ")[0] for k in offered] == [
        "transfer (your ownership ends when they take over)", "referral (you keep yours)"]
    # A transfer hands on what Hewell holds, never a provider's delivery.
    assert offered[0].endswith(" — for supervision or custody only")


def test_the_example_day_of_a_date_field_is_not_already_past(browse, world):
    # It read "For example, 25 11 2026" on 8 December 2026 (found in chromium).
    from gapwatch import clock

    ahead = world["today"] + timedelta(days=14)
    page = browse("wmids").get("/cases/C-GAP").text
    assert f"For example, {ahead.day} {ahead.month} {ahead.year}" in page
    assert "25 11 2026" not in page
    assert clock.example_day() == f"{ahead.day} {ahead.month} {ahead.year}"


def test_a_kind_allowed_for_some_roles_only_says_which(browse):
    # STAFFS supervises C-STAFFS: it may transfer its supervision, but only refer a service
    # (delivery) on. The one select of kinds offered "transfer" beside the providers, and the
    # operation refused it (found in chromium as West Mercia on the demo's WM-1007).
    page = browse("staffs").get("/cases/C-STAFFS").text
    kinds = re.search(r'<select[^>]*id="request-kind".*?</select>', page, flags=re.S).group(0)
    assert "transfer (your ownership ends when they take over) — for supervision only" in kinds
    assert "— for" not in kinds.split("referral", 1)[1]
