"""Sending the outbox over a real SMTP server: once per digest, retried when the server is down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.alerts import send_pending, write_digests
from gapwatch.models import Agency, AuditEvent, OutboxMessage
from tests.alerts.conftest import DAY, scenario
from tests.support import system

DIGESTS = 7  # five agencies' digests and two escalations (see `scenario`)


@pytest.fixture
def written(session):
    scenario(session)
    with ops.unit_of_work(session, system()) as uow:
        write_digests(uow, DAY, config={"BASE_URL": "http://gapwatch.test"})
    return session


def rows(session) -> dict[tuple[str, str], OutboxMessage]:
    session.rollback()
    found = session.execute(
        select(OutboxMessage, Agency.code).join(Agency, Agency.id == OutboxMessage.agency_id)
    ).all()
    return {(code, row.kind): row for row, code in found}


def test_each_digest_reaches_its_agencys_addresses_with_a_text_and_an_html_part(written, smtp):
    assert send_pending(written, smtp.config()) == DIGESTS
    assert sorted(to for to, _m in smtp.inbox.messages) == [
        ["director@wmercia.example"], ["director@wmercia.example"], ["duty@hmp-hewell.example"],
        ["duty@staffs.example"], ["duty@wmercia.example"], ["duty@wmids.example"],
        ["duty@yss.example"],
    ]
    [hewell] = smtp.inbox.to("duty@hmp-hewell.example")
    assert hewell["From"] == "gapwatch@alerts.example"
    assert hewell["Subject"] == ("gapwatch HMP-HEWELL 1 June 2026: 1 high: C-1 is released soon "
                                 "with no plan; 1 still open, 1 sent handoff overdue")
    text = hewell.get_body(("plain",)).get_content()
    html = hewell.get_body(("html",)).get_content()
    assert "C-1 Sam Example · release-unplanned" in text
    assert "http://gapwatch.test/cases/C-1" in text
    assert '<a href="http://gapwatch.test/cases/C-1">C-1</a> Sam Example' in html
    [wmids] = smtp.inbox.to("duty@wmids.example")
    assert "Sam Example" not in wmids.as_string()
    row = rows(written)[("HMP-HEWELL", "digest")]
    assert (row.status, row.message_id, row.attempts) == ("sent", hewell["Message-ID"], 1)
    assert row.sent_at is not None and row.last_error is None


def test_escalations_go_to_the_escalation_address_marked_escalated(written, smtp):
    send_pending(written, smtp.config())
    escalations = smtp.inbox.to("director@wmercia.example")
    assert sorted(m["Subject"] for m in escalations) == [
        "gapwatch ESCALATED WMERCIA 1 June 2026: 1 flag open too long",
        "gapwatch ESCALATED YSS 1 June 2026: 1 flag open too long",
    ]
    assert all("ESCALATED" in m.get_body(("plain",)).get_content() for m in escalations)


def test_a_second_send_the_same_day_sends_nothing(app, written, smtp):
    app.config.update(smtp.config())
    runner = app.test_cli_runner()
    first = runner.invoke(args=["alerts", "send", "--date", DAY.isoformat()])
    assert first.exit_code == 0, first.output
    assert f"{DIGESTS} sent" in first.output
    second = runner.invoke(args=["alerts", "send", "--date", DAY.isoformat()])
    assert second.exit_code == 0, second.output
    assert "0 outbox row(s) changed, 0 sent" in second.output
    assert len(smtp.inbox.messages) == DIGESTS


def test_with_the_server_down_digests_stay_pending_with_the_error_then_go_once(written, smtp_down):
    config = smtp_down.config()
    before = clock.now()
    assert send_pending(written, config) == 0
    waiting = rows(written)
    assert len(waiting) == DIGESTS
    for row in waiting.values():
        assert (row.status, row.attempts, row.claimed_at) == ("pending", 1, None)
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at >= before + timedelta(seconds=60)
    assert send_pending(written, config) == 0  # not due again yet: nothing is tried
    assert {r.attempts for r in rows(written).values()} == {1}

    smtp_down.start()
    later = clock.now() + timedelta(minutes=2)
    assert send_pending(written, config, now=later) == DIGESTS
    assert send_pending(written, config, now=later + timedelta(hours=1)) == 0
    assert len(smtp_down.inbox.messages) == DIGESTS
    sent = rows(written)
    assert {(r.status, r.attempts, r.last_error) for r in sent.values()} == {("sent", 2, None)}
    assert sorted(m["Message-ID"] for _to, m in smtp_down.inbox.messages) == sorted(
        r.message_id for r in sent.values())
    actions = written.execute(select(AuditEvent.action)).scalars().all()
    assert actions.count("alerts.failed") == DIGESTS and actions.count("alerts.sent") == DIGESTS


def test_each_failure_doubles_the_wait_before_the_next_attempt(written, smtp_down):
    config = smtp_down.config()
    start = clock.now() + timedelta(days=1)
    waits = []
    at = start
    for _ in range(4):
        send_pending(written, config, now=at)
        row = rows(written)[("STAFFS", "digest")]
        waits.append((row.next_attempt_at - at).total_seconds())
        at = row.next_attempt_at
    assert waits == [60, 120, 240, 480]
    assert rows(written)[("STAFFS", "digest")].attempts == 4


def test_two_senders_racing_deliver_each_digest_once(written, smtp, database_url):
    engines = [db.make_engine(database_url) for _ in range(2)]
    start = threading.Barrier(2)
    counts, errors = [], []

    def sender(engine):
        session = db.new_session(engine)
        try:
            start.wait()
            counts.append(send_pending(session, smtp.config()))
        except Exception as error:  # reported below: a thread's exception would vanish
            errors.append(error)
        finally:
            session.close()

    threads = [threading.Thread(target=sender, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert sum(counts) == DIGESTS
    ids = [m["Message-ID"] for _to, m in smtp.inbox.messages]
    assert len(ids) == DIGESTS and len(set(ids)) == DIGESTS
    assert {r.status for r in rows(written).values()} == {"sent"}


SENDER = """
import json, sys
from gapwatch import db
from gapwatch.alerts import send_pending
session = db.new_session(db.make_engine(sys.argv[1]))
send_pending(session, json.loads(sys.argv[2]))
"""


def test_a_sender_crashing_after_the_server_took_a_digest_sends_it_again_never_loses_it(
    written, smtp, database_url
):
    # A real process, killed by the SMTP server the moment it has received the first digest:
    # the sender dies between sending and marking the row sent.
    config = smtp.config()
    sender = subprocess.Popen([sys.executable, "-c", SENDER, database_url, json.dumps(config)],
                              cwd=os.getcwd())
    smtp.inbox.on_data = lambda _message: os.kill(sender.pid, signal.SIGKILL)
    assert sender.wait(timeout=60) == -signal.SIGKILL
    smtp.inbox.on_data = None
    [(_to, first)] = smtp.inbox.messages
    crashed = [r for r in rows(written).values() if r.claimed_at is not None]
    assert len(crashed) == 1 and crashed[0].status == "pending"
    assert crashed[0].message_id == first["Message-ID"]

    # While its claim is fresh, other senders leave the crashed sender's row alone.
    assert send_pending(written, config) == DIGESTS - 1
    assert rows(written)[_key(crashed[0], written)].status == "pending"

    # Once the claim is stale the row is sent again, with the same Message-ID: a duplicate that
    # mail clients can recognise, never a loss.
    stale = clock.now() + timedelta(seconds=301)
    assert send_pending(written, config, now=stale) == 1
    again = [m for _to, m in smtp.inbox.messages if m["Message-ID"] == first["Message-ID"]]
    assert len(again) == 2 and again[0]["Subject"] == again[1]["Subject"]
    assert len(smtp.inbox.messages) == DIGESTS + 1
    assert {r.status for r in rows(written).values()} == {"sent"}


def _key(row: OutboxMessage, session) -> tuple[str, str]:
    return (session.get(Agency, row.agency_id).code, row.kind)


def test_a_rescan_leaves_a_row_a_sender_has_claimed_as_it_is(written, smtp):
    from gapwatch.alerts import outbox
    from gapwatch.alerts.settings import AlertSettings
    from tests.alerts.conftest import raise_flag

    claim = outbox.claim_next(written, clock.now(), AlertSettings(), set())
    assert (claim.agency, claim.kind) == ("HMP-HEWELL", "digest")
    raise_flag(written, "C-1", rule="unallocated", severity="medium", since=DAY,
               notify=["HMP-HEWELL", "WMIDS", "STAFFS", "WMERCIA", "YSS"])
    with ops.unit_of_work(written, system()) as uow:
        # The five digests gain the flag, the escalations do not; the claimed one is left alone.
        assert write_digests(uow, DAY, config={"BASE_URL": "http://gapwatch.test"}) == 4
    claimed = [r for r in rows(written).values() if r.id == claim.id][0]
    assert "unallocated" not in claimed.body_text and claimed.body_text == claim.text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_sender_logs_in_when_a_user_is_configured(written):
    from aiosmtpd.smtp import AuthResult

    from tests.alerts.conftest import SmtpServer

    logins = []

    def authenticator(_server, _session, _envelope, mechanism, data):
        logins.append((mechanism, data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    server = SmtpServer(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    server.start()
    try:
        assert send_pending(written, server.config()) == 0  # no user: refused, kept pending
        assert "Authentication required" in rows(written)[("STAFFS", "digest")].last_error
        right = server.config(SMTP_USER="gapwatch", SMTP_PASSWORD="s3cret")
        assert send_pending(written, right, now=clock.now() + timedelta(minutes=2)) == DIGESTS
    finally:
        server.stop()
    assert {login[1:] for login in logins} == {("gapwatch", "s3cret")}
    assert len(server.inbox.messages) == DIGESTS


def test_html_in_a_flag_message_is_escaped_in_the_html_part(session, smtp):
    from tests.alerts.conftest import raise_flag
    from tests.support import event, load, person_and_case, region

    region(session)
    person_and_case(session, "C-5")
    load(session, event("C-5", "2026-01-10", "ownership_started", agency="WMIDS", role="supervision"))
    raise_flag(session, "C-5", rule="unallocated", severity="medium", since=DAY,
               notify=["WMIDS"], message='<script>alert("x")</script> & more')
    with ops.unit_of_work(session, system()) as uow:
        write_digests(uow, DAY)
    send_pending(session, smtp.config())
    [message] = smtp.inbox.to("duty@wmids.example")
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; more" in html
    assert '<script>alert("x")</script> & more' in message.get_body(("plain",)).get_content()
