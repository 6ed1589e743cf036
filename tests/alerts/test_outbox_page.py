"""The admin's outbox page: failing rows with their error, and a resend that only admins may do."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.alerts import send_pending, write_digests
from gapwatch.models import Agency, AuditEvent, OutboxMessage
from tests.alerts.conftest import DAY, scenario
from tests.support import CSRF, PASSWORD, act, sign_in, system

USERS = {
    "admin": ("admin@gapwatch.example", "admin", None),
    "auditor": ("auditor@inspect.example", "auditor", None),
    "case_manager": ("cm@staffs.example", "case_manager", "STAFFS"),
}


@pytest.fixture
def failing(app, session, smtp_down):
    """The scenario's digests, written and tried once while the SMTP server was down."""
    scenario(session)
    for email, role, agency in USERS.values():
        act(session, ops.add_user, email=email, role=role, password=PASSWORD, agency=agency)
    with ops.unit_of_work(session, system()) as uow:
        write_digests(uow, DAY, config={"BASE_URL": "http://gapwatch.test"})
    send_pending(session, smtp_down.config())
    app.config.update(smtp_down.config())
    return session


def signed_in(app, who: str):
    client = app.test_client()
    sign_in(client, USERS[who][0])
    return client


def staffs_digest(session) -> OutboxMessage:
    session.rollback()
    return session.execute(
        select(OutboxMessage).join(Agency, Agency.id == OutboxMessage.agency_id)
        .where(Agency.code == "STAFFS", OutboxMessage.kind == "digest")
    ).scalar_one()


def test_the_admin_sees_failing_rows_with_their_error(app, failing):
    page = signed_in(app, "admin").get("/admin/outbox/")
    assert page.status_code == 200
    assert "Failing (7)" in page.text
    assert "ConnectionRefusedError" in page.text
    assert "duty@staffs.example" in page.text
    assert "Nothing has been sent yet." in page.text
    # Each row's button says which message it retries, for people who hear the page.
    assert 'aria-label="Retry now: the digest for STAFFS of ' in page.text


@pytest.mark.parametrize("who", ["auditor", "case_manager"])
def test_only_admins_see_the_outbox_or_resend(app, failing, who):
    client = signed_in(app, who)
    assert client.get("/admin/outbox/").status_code == 403
    row = staffs_digest(failing)
    token = CSRF.search(client.get("/account/password").text).group(1)
    response = client.post(f"/admin/outbox/{row.id}/resend", data={"csrf_token": token})
    assert response.status_code == 403
    assert staffs_digest(failing).last_error is not None


def test_resend_needs_the_forms_csrf_token(app, failing):
    client = signed_in(app, "admin")
    row = staffs_digest(failing)
    assert client.post(f"/admin/outbox/{row.id}/resend").status_code == 400
    assert staffs_digest(failing).next_attempt_at is not None


def test_retry_now_makes_a_failing_digest_due_and_the_next_run_sends_it(app, failing, smtp_down):
    client = signed_in(app, "admin")
    row = staffs_digest(failing)
    token = CSRF.search(client.get("/admin/outbox/").text).group(1)
    response = client.post(f"/admin/outbox/{row.id}/resend", data={"csrf_token": token})
    assert response.status_code == 302
    after = staffs_digest(failing)
    assert (after.status, after.next_attempt_at, after.last_error) == ("pending", None, None)
    smtp_down.start()
    assert send_pending(failing, smtp_down.config()) == 1  # the others still wait for their retry
    assert [m["Subject"] for m in smtp_down.inbox.to("duty@staffs.example")] == [after.subject]
    detail = failing.execute(
        select(AuditEvent.detail).where(AuditEvent.action == "alerts.resend")).scalar_one()
    assert (detail["agency"], detail["was"]) == ("STAFFS", "pending")
    actor = failing.execute(
        select(AuditEvent.actor).where(AuditEvent.action == "alerts.resend")).scalar_one()
    assert actor == "user:admin@gapwatch.example"


def test_send_again_gives_a_sent_digest_a_new_message_id(app, failing, smtp_down):
    smtp_down.start()
    send_pending(failing, smtp_down.config(), now=staffs_digest(failing).next_attempt_at)
    first = staffs_digest(failing)
    first_id = first.message_id
    assert first.status == "sent"
    client = signed_in(app, "admin")
    token = CSRF.search(client.get("/admin/outbox/").text).group(1)
    client.post(f"/admin/outbox/{first.id}/resend", data={"csrf_token": token})
    assert send_pending(failing, smtp_down.config()) == 1
    again = staffs_digest(failing)
    ids = [m["Message-ID"] for m in smtp_down.inbox.to("duty@staffs.example")]
    assert again.status == "sent" and ids == [first_id, again.message_id]
    assert first_id != again.message_id
