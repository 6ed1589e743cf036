"""Input is bounded before it reaches the append-only trail; bodies are capped; headers are sent."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.events import parse_record
from gapwatch.models import AuditEvent, Case, Handoff
from tests.support import act, event


@pytest.fixture
def hewell(session, world):
    _token, secret = act(session, ops.create_token, agency="HMP-HEWELL", name="hewell")
    return {"Authorization": f"Bearer {secret}"}


def test_a_non_json_body_to_the_events_is_415(client, hewell):
    response = client.post("/api/v1/events", data="on=2026-01-01", headers={
        **hewell, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.json["errors"][0]["field"] == "Content-Type"
    assert response.headers["Accept-Post"] == "application/json"


def test_a_body_larger_than_the_cap_is_refused_unread(client, hewell):
    response = client.post("/api/v1/events", data=b"[" + b" " * (3 * 1024 * 1024) + b"]",
                           headers={**hewell, "Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_form_larger_than_the_cap_is_refused(client):
    response = client.post("/login", data={"email": "a" * 100_000 + "@x.example", "password": "x"})
    assert response.status_code == 413


def test_a_long_value_is_cut_before_it_is_audited(client, session, hewell):
    huge = "x" * 200_000
    response = client.post("/api/v1/events", headers=hewell, json=event(
        "C-WAIT", "2026-01-01", "handoff_rejected", to_agency="WMIDS", reason=huge))
    assert response.status_code == 400
    session.rollback()
    entries = session.execute(select(AuditEvent).where(AuditEvent.action == "api.refused")).scalars().all()
    assert entries and all(len(str(e.detail)) < 10_000 for e in entries)


def test_the_trail_cuts_any_long_text_at_its_door(session):
    """Whatever path a text takes, the append-only trail keeps at most 2,000 characters of it."""
    ops.record_read(session, ops.Actor.system("test"), "test.long", note="y" * 400_000,
                    nested={"deeper": ["z" * 50_000]})
    session.rollback()
    kept = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "test.long")
                           ).scalar_one()
    assert kept["note"].endswith("[cut: 400,000 characters]") and len(kept["note"]) < 2_100
    assert kept["nested"]["deeper"][0].endswith("[cut: 50,000 characters]")


@pytest.mark.parametrize("text", ["Sam\u202eelpmaxE", "A\u2066B", "tab\x00nul", "x\x1b[31m"])
def test_control_characters_are_refused_in_names_and_notes(text):
    with pytest.raises(InvalidInput, match="control character"):
        parse_record({"type": "person", "reference": "P-1", "given_name": text,
                      "family_name": "Example", "date_of_birth": "1990-01-01"})
    with pytest.raises(InvalidInput, match="control character"):
        parse_record(event("C-1", "2026-01-01", "case_closed", reason=text))


def test_a_note_with_a_bidi_control_is_refused_on_the_case_page(browse, session):
    browser = browse("wmids")  # C-WAIT's transfer waits for WMIDS's decision
    waiting = session.execute(select(Handoff.id).join(Case, Case.id == Handoff.case_id).where(
        Case.reference == "C-WAIT", Handoff.status == "pending")).scalar_one()
    response = browser.post(f"/cases/C-WAIT/handoffs/{waiting}/reject",
                            {"reason": "fine\u202etxet"})
    assert response.status_code == 400 and "bidirectional control" in response.text
    session.rollback()
    assert session.get(Handoff, waiting).status == "pending"


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # BASE_URL is http here


def test_hsts_under_https(app, client):
    app.config["BASE_URL"] = "https://gapwatch.example"
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


def test_static_files_may_be_cached(client):
    assert client.get("/static/gapwatch.css").headers.get("Cache-Control") != "no-store"


@pytest.mark.parametrize(("fmt", "media_type"), [
    ("csv", "text/csv; charset=utf-8"), ("json", "application/json"),  # JSON is UTF-8 by RFC 8259
    ("html", "text/html; charset=utf-8"), ("pdf", "application/pdf"),
])
def test_an_export_names_its_charset_once(browse, fmt, media_type):
    response = browse("auditor").get(f"/cases/C-WAIT/export.{fmt}")
    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == [media_type]


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/events", "POST, OPTIONS"),
    ("/api/v1/flags", "GET, HEAD, OPTIONS"),
    ("/api/v1/cases/C-WAIT", "GET, HEAD, OPTIONS"),
    ("/api/v1/cases/C-WAIT/journey", "GET, HEAD, OPTIONS"),
    ("/api/v1/openapi.json", "GET, HEAD, OPTIONS"),
])
def test_options_lists_only_the_documented_methods(client, path, allow):
    response = client.options(path)
    assert response.status_code == 204 and response.headers["Allow"] == allow


def test_the_token_page_makes_a_read_token_and_shows_scope_and_expiry(browse):
    browser = browse("admin")
    made = browser.post("/admin/tokens", {"agency": "WMIDS", "name": "reader", "scope": "read",
                                          "expires_in_days": "30"})
    assert made.status_code == 200, made.text
    page = browser.get("/admin/tokens").text
    assert ">read</td>" in page and "Expires" in page


def test_a_record_number_too_large_for_the_database_is_not_found(app, browse):
    """Every `<int:…>` part of every route refuses a number larger than an id column holds (it
    was a 500: SQLite's driver cannot bind past 64 bits, PostgreSQL's INTEGER ends at 2**31 - 1)."""
    admin, manager = browse("admin"), browse("wmids")
    routes = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert len(routes) >= 14
    # A case the manager may see: a case that does not exist would be a 404 anyway.
    other = {"verdict": "confirm", "fmt": "csv", "reference": "C-GAP"}
    for rule in routes:
        for number in (2**31, 2**64):
            path = re.sub(r"<(int:)?(?:[^>]*:)?(\w+)>",
                          lambda m, n=number: str(n) if m.group(1) else other[m.group(2)],
                          rule.rule)
            for who in (admin, manager):
                answer = who.post(path) if "POST" in rule.methods else who.get(path)
                assert answer.status_code == 404, (path, answer.status_code)
    # The largest number a column holds is still looked up, and not found.
    assert manager.get(f"/contracts/{2**31 - 1}").status_code == 404


def test_the_audit_trail_paged_from_past_its_last_possible_entry_shows_the_newest(browse):
    auditor = browse("auditor")
    newest = auditor.get("/audit")
    assert newest.status_code == 200
    for number in (2**31, 2**40, 2**63 - 1):
        assert auditor.get(f"/audit?before={number}").status_code == 200, number
    assert auditor.get(f"/audit?before={2**64}").status_code == 400  # not a count at all


def test_a_flags_cursor_past_the_largest_id_is_refused_by_name(client, hewell):
    cursor = base64.urlsafe_b64encode(f"flag:{2**31}".encode()).decode().rstrip("=")
    response = client.get(f"/api/v1/flags?cursor={cursor}", headers=hewell)
    assert response.status_code == 400, response.text  # was a 500: the column is INTEGER
    assert response.json["errors"][0]["field"] == "cursor"
    last = base64.urlsafe_b64encode(f"flag:{2**31 - 1}".encode()).decode().rstrip("=")
    assert client.get(f"/api/v1/flags?cursor={last}", headers=hewell).status_code == 200
