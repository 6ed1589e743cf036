"""Signing out, a new password and disabling an account end every session, server-side."""

from __future__ import annotations

import time

import pytest

from gapwatch import operations as ops
from tests.support import PASSWORD, act, csrf_token
from tests.web.conftest import USERS, Browser

NEW_PASSWORD = "a new and long passphrase"


def copied(browser: Browser, app) -> Browser:
    """Another client holding a copy of `browser`'s session cookie, as a thief would."""
    thief = Browser(app.test_client())
    cookie = browser.client.get_cookie("session")
    thief.client.set_cookie("session", cookie.value, domain=cookie.domain)
    thief.token = browser.token
    return thief


def test_a_cookie_copied_before_sign_out_no_longer_reads_or_writes(app, browse):
    browser = browse("wmids")
    thief = copied(browser, app)
    assert thief.get("/cases/C-GAP").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert thief.get("/cases/C-GAP").status_code == 302  # to the sign-in page
    refused = thief.post("/cases/C-WAIT/close", {"reason": "stolen"})
    assert refused.status_code in (302, 400)
    assert "/login" in refused.headers.get("Location", "/login")


def test_signing_out_ends_the_users_other_sessions_too(app, browse):
    laptop = browse("wmids")
    phone = Browser(app.test_client()).sign_in("wmids")
    laptop.post("/logout")
    assert phone.get("/cases").status_code == 302


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, browse):
    browser = browse("wmids")
    other = Browser(app.test_client()).sign_in("wmids")
    response = browser.post("/account/password", {
        "current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 302, response.text
    assert browser.get("/cases").status_code == 200
    assert other.get("/cases").status_code == 302


def test_disabling_a_user_ends_their_sessions_and_enabling_does_not_revive_them(app, browse,
                                                                             session):
    browser = browse("wmids")
    thief = copied(browser, app)
    act(session, ops.set_active, email=USERS["wmids"][0], active=False)
    act(session, ops.set_active, email=USERS["wmids"][0], active=True)
    assert browser.get("/cases").status_code == 302
    assert thief.get("/cases").status_code == 302


def test_a_session_idle_longer_than_the_limit_ends(app, browse, monkeypatch):
    browser = browse("wmids")
    assert browser.get("/cases").status_code == 200
    later = time.time() + app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    monkeypatch.setattr(time, "time", lambda: later)
    response = browser.get("/cases")
    assert response.status_code == 302
    assert "without using gapwatch" in browser.get("/login").text


def test_the_dashboards_own_refresh_keeps_no_idle_session_alive(app, browse, monkeypatch):
    browser = browse("wmids")
    start = time.time()
    minutes = app.config["SESSION_IDLE_MINUTES"]
    for step in range(1, minutes + 2, 10):
        monkeypatch.setattr(time, "time", lambda s=step: start + s * 60)
        browser.get("/", headers={"HX-Request": "true", "X-Gapwatch-Poll": "1"})
    monkeypatch.setattr(time, "time", lambda: start + (minutes + 1) * 60)
    assert browser.get("/cases").status_code == 302


def test_use_keeps_a_session_alive_within_the_working_day(app, browse, monkeypatch):
    browser = browse("wmids")
    start = time.time()
    minutes = app.config["SESSION_IDLE_MINUTES"]
    for step in range(1, 4):
        monkeypatch.setattr(time, "time", lambda s=step: start + s * (minutes - 1) * 60)
        assert browser.get("/cases").status_code == 200


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_and_admins_sign_out_for_good_too(app, browse, who):
    browser = browse(who)
    thief = copied(browser, app)
    browser.post("/logout")
    assert thief.get("/audit").status_code == 302


def test_the_sign_in_form_still_works_after_a_sign_out(app, browse):
    browser = browse("wmids")
    browser.post("/logout")
    page = browser.get("/login")
    response = browser.client.post("/login", data={
        "email": USERS["wmids"][0], "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
