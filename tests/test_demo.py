"""`gapwatch demo`: the curated West Midlands region, its logins, and the synthetic region."""

from __future__ import annotations

import re
import shutil
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from gapwatch import clock, create_app, db
from gapwatch.demo import region
from gapwatch.demo.journeys import STORIES
from gapwatch.demo.synthetic import synthetic_cases
from gapwatch.models import Agency, AuditEvent, Case, Handoff, Ownership, Person, User
from gapwatch.rules import load_rules
from gapwatch.scan import scan


@pytest.fixture
def app(app):
    """The suite's app with CSRF off, so the test can post the login form directly."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def demo(app, *args: str):
    return app.test_cli_runner().invoke(args=["demo", *args])


def counts(session) -> dict[str, int]:
    session.rollback()  # read what the command committed, not an older snapshot
    return {t.__name__: session.execute(select(func.count()).select_from(t)).scalar()
            for t in (Agency, Person, Case, Ownership, Handoff, User, AuditEvent)}


def test_demo_loads_the_region_into_an_empty_database_and_prints_the_logins(app, session):
    result = demo(app)
    assert result.exit_code == 0, result.output
    loaded = counts(session)
    assert loaded["Agency"] == len(region.AGENCIES)
    assert loaded["Case"] == len(STORIES)
    assert loaded["User"] == len(region.logins())
    assert f"password for all: {region.PASSWORD}" in result.output
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in result.output.splitlines()
             if line.startswith("  ")}
    assert list(lines) == [email for email, _role, _agency in region.logins()]
    assert lines["omu@hewell.example"] == "HMP Hewell (HMP-HEWELL) case manager"
    assert lines["yos@worcestershire.example"] == (
        "Worcestershire Youth Offending Service (YOS-WORCS) case manager")
    assert lines["iccp@yss.example"] == "Youth Support Services (YSS) case manager"
    assert (lines[region.AUDITOR], lines[region.ADMIN]) == ("no agency auditor",
                                                            "no agency administrator")


def test_demo_no_logins_loads_quietly(app, session):
    result = demo(app, "--no-logins")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Loaded the West Midlands demo region: \d+ records\.\n"
                        r"Linked \d+ persons: 1 possible twins proposed for review "
                        r"\(model \d+, [\d.]+ s\)\.\n", result.output)
    assert counts(session)["User"] == len(region.logins())


def test_demo_if_empty_a_second_time_changes_nothing(app, session):
    assert demo(app, "--if-empty").exit_code == 0
    before = counts(session)
    again = demo(app, "--if-empty")
    assert again.exit_code == 0
    assert "was not loaded" in again.output and region.ADMIN in again.output
    assert counts(session) == before


def test_demo_refuses_a_database_that_has_data_without_if_empty(app, session):
    assert demo(app).exit_code == 0
    before = counts(session)
    again = demo(app)
    assert again.exit_code != 0
    assert "already has agencies" in again.output
    assert counts(session) == before


@pytest.mark.parametrize(
    ("email", "page"),
    [("omu@hewell.example", "HMP-HEWELL"), (region.AUDITOR, "auditor"), (region.ADMIN, "admin")],
)
def test_the_printed_logins_work(app, session, email, page):
    assert demo(app).exit_code == 0
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": region.PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    session.rollback()
    signed_in = session.execute(
        select(AuditEvent.detail).where(AuditEvent.action == "login.succeeded")
    ).scalars().all()
    assert signed_in == [{"email": email, "request_id": ANY}]  # the sign-in request's id
    wrong = app.test_client().post("/login", data={"email": email, "password": "not-it-at-all"})
    assert wrong.status_code == 200  # the form again, with an error


def test_each_curated_journey_shows_the_rule_it_is_meant_to(app, session):
    assert demo(app).exit_code == 0
    session.rollback()
    result = scan(session, clock.today(), dry_run=True)
    found = sorted((f.case, f.rule, f.severity) for f in result.findings)
    meant = sorted((s.reference, s.rule) for s in STORIES if s.rule)
    assert [(case, rule) for case, rule, _severity in found] == meant
    for story in STORIES:
        if story.severity:
            assert (story.reference, story.rule, story.severity) in found
    assert {rule for _case, rule, _severity in found} == {rule.code for rule in load_rules()}


def fingerprint(session) -> list[list[tuple]]:
    """Everything the synthetic loader wrote about journeys, independent of row ids."""
    sender, receiver = aliased(Agency), aliased(Agency)
    cases = session.execute(
        select(Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
               Case.expected_release_on, Person.given_name, Person.family_name,
               Person.date_of_birth, Person.restricted)
        .join(Person, Person.id == Case.person_id)
    ).all()
    ownerships = session.execute(
        select(Case.reference, Agency.code, Ownership.role, Ownership.starts_on,
               Ownership.ends_on, Ownership.officer)
        .join(Case, Case.id == Ownership.case_id).join(Agency, Agency.id == Ownership.agency_id)
    ).all()
    handoffs = session.execute(
        select(Case.reference, sender.code, receiver.code, Handoff.role, Handoff.kind,
               Handoff.requested_on, Handoff.due_on, Handoff.status, Handoff.decided_on)
        .join(Case, Case.id == Handoff.case_id)
        .outerjoin(sender, sender.id == Handoff.from_agency_id)
        .join(receiver, receiver.id == Handoff.to_agency_id)
    ).all()
    return [sorted(tuple(map(str, row)) for row in rows) for rows in (cases, ownerships, handoffs)]


def test_synthetic_cases_are_the_same_for_the_same_seed(app, session, tmp_path, request):
    result = demo(app, "--cases", "200", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "Loaded 200 synthetic cases (seed 1)" in result.output
    assert "200/200 cases" in result.output  # the progress line
    assert region.ADMIN in result.output
    session.rollback()
    first = fingerprint(session)
    assert len(first[0]) == 200

    other = tmp_path / "other.sqlite"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), other)
    second_app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{other}",
                             "SECRET_KEY": "test-secret-key"})
    assert demo(second_app, "--cases", "200", "--seed", "1").exit_code == 0
    engine = db.make_engine(f"sqlite:///{other}")
    second = db.new_session(engine)
    try:
        assert fingerprint(second) == first
    finally:
        second.close()
        engine.dispose()
        second_app.extensions["gapwatch.engine"].dispose()


def test_another_seed_gives_other_cases():
    today = clock.today()
    assert list(synthetic_cases(today, 50, 1)) == list(synthetic_cases(today, 50, 1))
    assert list(synthetic_cases(today, 50, 1)) != list(synthetic_cases(today, 50, 2))


def test_a_synthetic_region_has_a_share_of_every_rules_situation(app, session):
    assert demo(app, "--cases", "1000", "--seed", "1").exit_code == 0
    session.rollback()
    result = scan(session, clock.today(), dry_run=True)
    by_rule: dict[str, int] = {}
    for finding in result.findings:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    assert set(by_rule) == {rule.code for rule in load_rules()}
    # Most journeys are healthy: the rules find something in a small share of the cases.
    assert len({f.case for f in result.findings}) < 250


def test_demo_on_a_database_without_tables_says_to_run_init(tmp_path):
    bare = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'bare.sqlite'}",
                       "SECRET_KEY": "test-secret-key"})
    result = demo(bare)
    assert result.exit_code == 1
    assert "run `gapwatch init` first" in result.output
    bare.extensions["gapwatch.engine"].dispose()


def test_demo_leaves_fresh_statistics_and_on_postgresql_a_vacuumed_region(app, session, backend):
    vacuums = text("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'handoff'")
    before = None if backend == "sqlite" else session.execute(vacuums).scalar()
    session.rollback()
    assert demo(app, "--no-logins").exit_code == 0
    session.rollback()
    if backend == "sqlite":  # ANALYZE's statistics
        assert session.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar() > 0
        return
    # Vacuumed, not only analysed: the loaded pages are all-visible, so the dashboard's counts
    # read their indexes alone from the first page on.
    assert session.execute(vacuums).scalar() == before + 1
