"""The auditor's pages: the chain's verdict, filtering entries, downloads; and no writes at all."""

from __future__ import annotations

from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from gapwatch import operations as ops
from gapwatch.models import AuditEvent
from gapwatch.operations.tokens import create_token
from tests.audit.conftest import tampering
from tests.support import PASSWORD, act, sign_in

# Signing in and out and changing one's own password change no case: every role may.
OWN_ACCOUNT = {"auth.login", "auth.logout", "auth.change_password"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def people(journey):
    for email, role, agency in [("inspector@hmip.example", "auditor", None),
                                ("cm@wmids.example", "case_manager", "WMIDS"),
                                ("admin@gapwatch.example", "admin", None)]:
        act(journey, ops.add_user, email=email, role=role, password=PASSWORD, agency=agency)
    return journey


@pytest.fixture
def auditor(app, people):
    client = app.test_client()
    client.token = sign_in(client, "inspector@hmip.example")
    return client


def test_the_audit_page_shows_the_chain_intact(auditor):
    page = auditor.get("/audit")
    assert page.status_code == 200
    assert "Chain intact." in page.text
    assert "handoff.rejected" in page.text and "lives in Birmingham" in page.text


def test_the_audit_page_names_the_broken_entry(auditor, people):
    with tampering(people) as session:
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 5))
    page = auditor.get("/audit")
    assert "Chain broken at entry 5 (removed)." in page.text


@pytest.mark.parametrize(("query", "present", "absent"), [
    ("action=handoff.", ["handoff.requested", "handoff.accepted"], ["ownership.started"]),
    ("actor=inspector", ["case.viewed"], ["handoff.requested"]),
    ("case=C-1&action=officer", ["officer.assigned"], ["handoff.requested"]),
    ("since=2000-01-01&until=2000-01-02", ["No entries match."], ["handoff.requested"]),
])
def test_the_auditor_filters_entries(auditor, query, present, absent):
    auditor.get("/cases/C-1")
    page = auditor.get(f"/audit?{query}").text
    rows = page.split("<tbody", 1)[1]
    for text in present:
        assert text in rows
    for text in absent:
        assert text not in rows


def test_case_managers_do_not_see_the_audit_page_or_exports(app, people):
    client = app.test_client()
    sign_in(client, "cm@wmids.example")
    assert client.get("/audit").status_code == 403
    assert client.get("/cases/C-1/export.json").status_code == 403


@pytest.mark.parametrize(("fmt", "media", "start"), [
    ("json", "application/json", b"{"), ("csv", "text/csv", b"day,event"),
    ("html", "text/html", b"<!doctype html>"), ("pdf", "application/pdf", b"%PDF-"),
])
def test_the_auditor_downloads_the_case_history(auditor, people, fmt, media, start):
    response = auditor.get(f"/cases/C-1/export.{fmt}?as_of=2026-06-11")
    assert response.status_code == 200
    assert response.mimetype == media and response.data.startswith(start)
    assert "case-C-1-as-of-2026-06-11" in response.headers["Content-Disposition"]
    last = people.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars().first()
    assert (last.action, last.actor, last.detail) == (
        "export.case", "user:inspector@hmip.example",
        {"format": fmt, "as_of": "2026-06-11", "details_shown": True, "request_id": ANY})


def test_the_case_page_offers_auditors_the_exports(auditor):
    page = auditor.get("/cases/C-1").text
    assert 'href="/cases/C-1/export.pdf"' in page and 'href="/cases/C-1/export.json"' in page


def test_unknown_formats_and_cases_are_not_found(auditor):
    assert auditor.get("/cases/C-1/export.docx").status_code == 404
    assert auditor.get("/cases/C-404/export.json").status_code == 404


def _url(rule, people) -> str:
    """Build a URL for `rule` that names records which exist, so only the role can refuse it."""
    from gapwatch.models import Flag, Handoff, Ownership, User

    first = lambda model: people.execute(select(model.id).limit(1)).scalar()  # noqa: E731
    values = {"reference": "C-1", "code": "WMIDS", "rest": "cases", "handoff_id": first(Handoff),
              "ownership_id": first(Ownership), "flag_id": first(Flag), "user_id": first(User),
              "token_id": 1, "message": 1, "proposal_id": 1, "verdict": "confirm"}
    missing = rule.arguments - set(values)
    assert not missing, f"{rule.rule}: add a value for {missing} to this test"
    return rule.build({name: values[name] for name in rule.arguments})[1]


def test_an_auditor_is_refused_on_every_write_route(app, auditor, flagged):
    act(flagged, create_token, agency="WMIDS", name="test")
    routes = [r for r in app.url_map.iter_rules()
              if r.methods & WRITES and r.endpoint not in OWN_ACCOUNT]
    assert len(routes) >= 10  # the case actions and the admin pages at least
    count = lambda: flagged.execute(select(func.count()).select_from(AuditEvent)).scalar()  # noqa: E731
    flagged.rollback()
    before = count()
    refused = {}
    for rule in routes:
        url = _url(rule, flagged)
        for method in sorted(rule.methods & WRITES):
            response = auditor.open(url, method=method, data={"csrf_token": auditor.token})
            refused[f"{method} {url}"] = response.status_code
    flagged.rollback()
    # The API authenticates agencies by bearer token: a browser session is no credential.
    wrong = {where: status for where, status in refused.items()
             if status not in ({401, 403} if " /api/" in where else {403})}
    assert wrong == {}
    assert count() == before


def test_a_long_chain_is_checked_on_request(auditor, monkeypatch):
    from gapwatch.web import audit as page

    monkeypatch.setattr(page, "VERIFY_ON_VIEW", 3)
    assert "Check the whole chain now" in auditor.get("/audit").text
    assert "Chain intact." in auditor.get("/audit?verify=all").text
