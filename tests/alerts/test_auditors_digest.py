"""The auditors' digest: the daily signed checkpoint, mailed through the outbox to the auditors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text

from gapwatch import checkpoint, clock
from gapwatch import operations as ops
from gapwatch.alerts import send_pending, write_auditors_digest
from gapwatch.models import OutboxMessage
from gapwatch.scheduler import run_daily
from tests.audit.conftest import tampering
from tests.support import PASSWORD, D, act, system

DAY = D("2026-06-20")
AUDITOR, RETIRED, INSPECTORATE = ("auditor@inspect.example", "retired@inspect.example",
                                  "trail@inspectorate.example")


def auditors(session) -> None:
    act(session, ops.add_user, email=AUDITOR, role="auditor", password=PASSWORD)
    act(session, ops.add_user, email=RETIRED, role="auditor", password=PASSWORD)
    act(session, ops.set_active, email=RETIRED, active=False)
    act(session, ops.add_user, email="cm@wmids.example", role="case_manager",
        password=PASSWORD, agency="WMIDS")


def configure(app, smtp, **more) -> dict:
    app.config.update(smtp.config(AUDITOR_EMAILS=f"{INSPECTORATE}, ", **more))
    return app.config


def auditors_rows(session) -> list[OutboxMessage]:
    session.rollback()
    return session.execute(select(OutboxMessage).where(OutboxMessage.kind == "auditors")
                           ).scalars().all()


def test_the_daily_run_mails_the_checkpoint_to_the_auditors_once(app, journeys, engine, smtp):
    auditors(journeys)
    config = configure(app, smtp)
    with app.app_context():
        assert run_daily(engine, config, DAY).ran
    [path] = checkpoint.found_in(Path(config["CHECKPOINT_DIR"]))
    made = checkpoint.read(path)
    [(to, mail)] = [(to, m) for to, m in smtp.inbox.messages if m["Subject"].startswith(
        "gapwatch audit checkpoint")]
    assert sorted(to) == [AUDITOR, INSPECTORATE]  # not the disabled auditor, nor a case manager
    assert mail["Subject"] == (f"gapwatch audit checkpoint 2026-06-20: {made.entries:,} entries, "
                               f"head {made.head[:16]}, key {made.key_id}")
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    public = checkpoint.load_public_key(path.parent / checkpoint.PUBLIC_KEY_FILE)
    for part in (plain, html):
        assert str(made.entries) in part and made.head in part and made.signature in part
        assert made.key_id in part and checkpoint.fingerprint(public) in part
        assert "How to verify" in part and "gapwatch audit verify --checkpoint" in part
        assert "Sam Example" not in part  # no person's details, ever
    [row] = auditors_rows(journeys)
    assert (row.agency_id, row.status, row.message_id) == (None, "sent", mail["Message-ID"])
    # The day's digest is never sent again: not by a retry, not by writing the day once more.
    with app.app_context():
        assert send_pending(journeys, config) == 0
        with ops.unit_of_work(journeys, system()) as uow:
            assert write_auditors_digest(uow, DAY, path, made, config) == 0
        assert send_pending(journeys, config) == 0
    assert len(smtp.inbox.to(AUDITOR)) == 1


def test_what_the_email_carries_verifies_the_trail_as_its_how_to_says(app, journeys, engine,
                                                                      smtp, tmp_path):
    auditors(journeys)
    config = configure(app, smtp)
    with app.app_context():
        run_daily(engine, config, DAY)
    [mail] = smtp.inbox.to(AUDITOR)
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    kept = body.split("CHECKPOINT (checkpoint.json)\n", 1)[1].split("\n\nPUBLIC KEY", 1)[0]
    key = body.split("PUBLIC KEY (public_key.pem)\n", 1)[1]
    saved, pem = tmp_path / "mailed" / "checkpoint.json", tmp_path / "mailed" / "public_key.pem"
    saved.parent.mkdir()
    saved.write_text(kept)
    pem.write_text(key)
    assert json.loads(kept)["signature"] in body
    runner = app.test_cli_runner()
    args = ["audit", "verify", "--checkpoint", str(saved), "--public-key", str(pem)]
    assert runner.invoke(args=args).exit_code == 0
    # The kept copy still catches a trail cut short, even if the checkpoints' folder went too.
    for written in checkpoint.found_in(Path(config["CHECKPOINT_DIR"])):
        written.unlink()
    journeys.rollback()
    with tampering(journeys) as session:
        session.execute(text("DELETE FROM auditevent WHERE seq > :kept"),
                        {"kept": json.loads(kept)["entries"] - 2})
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "cut off its end" in result.output


def test_while_the_mail_server_is_down_it_waits_in_the_outbox_then_goes_once(
        app, journeys, engine, smtp_down):
    auditors(journeys)
    config = configure(app, smtp_down)
    with app.app_context():
        run_daily(engine, config, DAY)
    [row] = auditors_rows(journeys)
    assert row.status == "pending" and row.last_error and row.attempts == 1
    smtp_down.start()
    with app.app_context():
        assert send_pending(journeys, config, now=clock.now().replace(year=2100)) >= 1
        assert send_pending(journeys, config, now=clock.now().replace(year=2100)) == 0
    assert len(smtp_down.inbox.to(INSPECTORATE)) == 1
    [row] = auditors_rows(journeys)
    assert row.status == "sent"


def test_with_nobody_to_tell_nothing_is_written(app, journeys, engine, smtp):
    app.config.update(smtp.config())
    with app.app_context():
        assert run_daily(engine, app.config, DAY).ran
    assert auditors_rows(journeys) == []
    assert smtp.inbox.to(AUDITOR) == []
