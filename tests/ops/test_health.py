"""The health endpoints answer without sign-in and without personal data: each healthy and
failing, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gapwatch import clock, create_app, health, scheduler
from gapwatch.models import OutboxMessage
from gapwatch.scan import scan
from tests.ops.conftest import mail


def app_on(url: str, tmp_path, **config):
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": False, **config})
    app.instance_path = str(tmp_path / "instance")
    return app


def test_healthz_answers_while_the_process_does(client):
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok process: answers\n")


def test_readyz_answers_200_at_the_latest_schema(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert "ok schema: at the latest migration" in response.text


def test_readyz_answers_503_when_the_schema_is_behind(behind_url, tmp_path):
    response = app_on(behind_url, tmp_path).test_client().get("/readyz")
    assert response.status_code == 503
    assert "FAIL schema: the schema is at 0002, the code expects" in response.text
    assert "run `gapwatch init`" in response.text


def test_readyz_answers_503_when_the_database_does_not(unreachable_url, tmp_path):
    response = app_on(unreachable_url, tmp_path).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.text.startswith("FAIL database: the database does not answer (")
    assert "FAIL schema: not checked" in response.text


def test_daily_answers_503_when_the_scan_did_not_run(journeys, app):
    app.config["DAILY_DEADLINE"] = "00:00"
    response = app.test_client().get("/healthz/daily")
    assert response.status_code == 503
    assert response.text == (f"FAIL daily: the daily scan of {clock.today()} has not completed "
                             "by 00:00 Europe/London (never started)\n")


def test_daily_answers_200_before_the_deadline(journeys, engine):
    # 06:59 in London on 11 June (BST): the 07:00 deadline has not passed.
    early = datetime(2026, 6, 11, 5, 59, tzinfo=UTC)
    late = datetime(2026, 6, 11, 6, 0, tzinfo=UTC)
    assert health.daily(engine, {}, now=early).ok
    assert not health.daily(engine, {}, now=late).ok
    assert not health.daily(engine, {"DAILY_DEADLINE": "06:30"}, now=early).ok


def test_daily_names_a_failed_run(journeys, engine):
    day = clock.today()
    scheduler._claim_row(engine, scheduler.DAILY, day, scheduler.timedelta(minutes=10), locked=False)
    scheduler._finish(engine, scheduler.DAILY, day, "failed", "OperationalError: the server went away")
    check = health.daily(engine, {"DAILY_DEADLINE": "00:00"})
    assert not check.ok
    assert check.detail.endswith("(failed: OperationalError: the server went away)")


def test_daily_answers_200_once_the_run_is_done_and_its_digests_sent(journeys, app, engine, smtp):
    app.config.update(DAILY_DEADLINE="00:00", **mail(smtp))
    outcome = scheduler.run_daily(engine, app.config, clock.today())
    assert outcome.ran and smtp.inbox.messages  # the referral's receiver and sender are told
    response = app.test_client().get("/healthz/daily")
    assert response.status_code == 200, response.text
    assert response.text == f"ok daily: the daily scan of {clock.today()} completed\n"


def test_daily_answers_503_while_a_digest_of_the_day_is_not_sent(journeys, app, engine):
    app.config["DAILY_DEADLINE"] = "00:00"
    day = clock.today()
    scan(journeys, day, config=app.config)  # writes the digests; nobody sends them
    scheduler._claim_row(engine, scheduler.DAILY, day, scheduler.timedelta(minutes=10), locked=False)
    scheduler._finish(engine, scheduler.DAILY, day, "done")
    response = app.test_client().get("/healthz/daily")
    assert response.status_code == 503
    assert "digest(s) of " in response.text and "not sent yet" in response.text


def test_a_failing_digest_is_visible_not_silent(journeys, app, engine, smtp):
    """A digest the mail server refused is failing and listed: /healthz/daily says so and
    answers 200 (the day ran, its failures are on the admin page); doctor's outbox check fails."""
    smtp.stop()  # nothing listens: every attempt fails
    app.config.update(DAILY_DEADLINE="00:00", **mail(smtp))
    assert scheduler.run_daily(engine, app.config, clock.today()).ran
    journeys.rollback()
    failing = journeys.execute(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.last_error.is_not(None))).scalar()
    assert failing >= 1
    response = app.test_client().get("/healthz/daily")
    assert response.status_code == 200
    assert f"{failing} failing (listed on /admin/outbox)" in response.text
    check = health.outbox(engine)
    assert (check.ok, check.detail) == (False, f"{failing} message(s) failing: see /admin/outbox")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/healthz/daily"])
def test_health_answers_carry_no_personal_data(journeys, app, engine, path):
    app.config["DAILY_DEADLINE"] = "00:00"
    scan(journeys, clock.today(), config=app.config)
    text = app.test_client().get(path).text
    for private in ("Sam", "Example", "C-1", "C-2", "@", "P-C-1"):
        assert private not in text, (path, text)


def test_a_request_during_a_database_outage_answers_503(unreachable_url, tmp_path):
    client = app_on(unreachable_url, tmp_path).test_client()
    page = client.post("/login", data={"email": "a@b.example", "password": "whatever it is"})
    assert page.status_code == 503, page.text
    assert page.headers["Retry-After"] == "30"
    assert "The database is not answering just now" in page.text
    api = client.get("/api/v1/cases/C-1", headers={"Authorization": "Bearer gw_nothing"})
    assert api.status_code == 503, api.text
    assert api.get_json()["title"] == "Service unavailable"
