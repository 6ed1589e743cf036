"""`gapwatch alerts send` (scanning first when no scan has reached the day) and `alerts preview`."""

from __future__ import annotations

from sqlalchemy import func, select

from gapwatch.models import AuditEvent, Flag, OutboxMessage
from tests.alerts.conftest import DAY, scenario
from tests.support import event, load, person_and_case, region


def gap(session) -> None:
    """C-9, high risk, released from HMP Hewell on 20 May 2026 with nobody taking over."""
    region(session)
    person_and_case(session, "C-9", risk_level="high")
    load(session,
         event("C-9", "2026-01-10", "ownership_started", agency="HMP-HEWELL", role="custody",
               officer="A. Officer"),
         event("C-9", "2026-05-20", "ownership_ended", agency="HMP-HEWELL", reason="released"))


def count(session, model) -> int:
    session.rollback()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_alerts_send_scans_a_day_no_scan_has_reached_then_sends_its_digests(app, session, smtp):
    gap(session)
    app.config.update(smtp.config())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["alerts", "send", "--date", "2026-06-01"])
    assert result.exit_code == 0, result.output
    assert "2026-06-01: scanned and wrote the digests, 2 sent" in result.output
    assert count(session, Flag) == 1
    assert sorted(to[0] for to, _m in smtp.inbox.messages) == [
        "duty@hmp-hewell.example", "duty@wmids.example"]
    for _to, message in smtp.inbox.messages:
        text = message.get_body(("plain",)).get_content()
        # First seen today, so new and not yet escalated, however old the gap itself is.
        assert "NEW FLAGS (1)\n- [CRITICAL] C-9 Sam Example · no-accountable-owner\n" in text.replace("\r\n", "\n")
        assert "http://gapwatch.test/cases/C-9" in text
    again = runner.invoke(args=["alerts", "send", "--date", "2026-06-01"])
    assert again.exit_code == 0 and ", 0 sent" in again.output
    assert len(smtp.inbox.messages) == 2


def test_alerts_send_reports_failing_digests(app, session, smtp_down):
    gap(session)
    app.config.update(smtp_down.config())
    result = app.test_cli_runner().invoke(args=["alerts", "send", "--date", "2026-06-01"])
    assert result.exit_code == 1, result.output  # cron and systemd see mail is not leaving
    assert "0 sent, 2 failing (see /admin/outbox)" in result.output


def test_preview_prints_the_digest_and_writes_nothing(app, session):
    scenario(session)
    audit_before = count(session, AuditEvent)
    result = app.test_cli_runner().invoke(args=["alerts", "preview", "YSS", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("To: duty@yss.example\nSubject: gapwatch YSS 1 June 2026: 1 high: C-2 is served under a "
                                     "lapsed contract; 1 still open\n")
    assert "[HIGH] C-2 Sam Example · contract-lapsed · ESCALATED" in result.output
    assert "To: director@wmercia.example\nSubject: gapwatch ESCALATED YSS" in result.output
    assert count(session, OutboxMessage) == 0
    assert count(session, AuditEvent) == audit_before


def test_preview_html_part(app, session):
    scenario(session)
    result = app.test_cli_runner().invoke(
        args=["alerts", "preview", "HMP-HEWELL", "--date", DAY.isoformat(), "--html"])
    assert result.exit_code == 0
    assert '<a href="http://gapwatch.test/cases/C-1">C-1</a> Sam Example' in result.output


def test_preview_of_an_agency_with_nothing_to_say_or_no_such_agency(app, session):
    scenario(session)
    runner = app.test_cli_runner()
    quiet = runner.invoke(args=["alerts", "preview", "WARKS", "--date", DAY.isoformat()])
    assert quiet.exit_code == 0
    assert quiet.output == "WARKS has nothing to hear about on 2026-06-01: no digest.\n"
    unknown = runner.invoke(args=["alerts", "preview", "NOPE", "--date", DAY.isoformat()])
    assert unknown.exit_code == 1 and "unknown agency 'NOPE'" in unknown.output
    bad_day = runner.invoke(args=["alerts", "preview", "YSS", "--date", "1 June"])
    assert bad_day.exit_code == 2 and "'1 June' is not a date" in bad_day.output


def test_the_command_line_lists_send_and_preview(app):
    result = app.test_cli_runner().invoke(args=["alerts", "--help"])
    assert result.exit_code == 0
    assert "send" in result.output and "preview" in result.output
