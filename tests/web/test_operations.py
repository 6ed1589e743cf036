"""Operations seen from the web app: the admin page's operations panel, request ids in the
response and in the audit trail, /metrics only with its token, JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import re

from sqlalchemy import select

from gapwatch import audit, clock, create_app, scheduler
from gapwatch.models import AuditEvent


def test_the_admin_page_shows_heartbeat_last_scan_and_outbox(browse, app, engine):
    admin = browse("admin")
    page = admin.get("/admin/").text
    assert "none yet: is <code>gapwatch scheduler</code> running?" in page
    assert re.search(r"Last completed daily scan</dt>\s*<dd[^>]*>none yet", page)
    app.config["SMTP_PORT"] = 1  # nothing listens: the day's digests fail, visibly
    scheduler.Watch(engine, app.config).beat()
    assert scheduler.run_daily(engine, app.config, clock.today()).ran
    page = admin.get("/admin/").text
    assert f"{clock.long_day(clock.today())}, finished " in page
    assert "from " + scheduler.host_name() in page
    assert re.search(r"0 pending, <strong class=\"govuk-tag govuk-tag--red\">\d+ failing</strong>", page)


def test_a_request_id_is_returned_and_written_to_the_audit_entries(browse, session):
    hewell = browse("hewell")
    response = hewell.get("/cases/C-WAIT", headers={"X-Request-Id": "edge-7f3a9c2e-0001"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "edge-7f3a9c2e-0001"
    session.rollback()
    viewed = session.execute(select(AuditEvent).where(AuditEvent.action == "case.viewed")
                             .order_by(AuditEvent.seq.desc())).scalars().first()
    assert viewed.detail["request_id"] == "edge-7f3a9c2e-0001"
    assert audit.verify(session).ok  # the id is hashed with the entry, like the rest


def test_an_unusable_request_id_is_replaced(client):
    given = client.get("/healthz", headers={"X-Request-Id": "bad id <script>"})
    assert given.headers["X-Request-Id"] != "bad id <script>"
    assert len(given.headers["X-Request-Id"]) == 32


def test_metrics_are_404_without_a_token_and_401_with_a_wrong_one(app):
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "the-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer other"}).status_code == 401
    served = client.get("/metrics", headers={"Authorization": "Bearer the-token"})
    assert served.status_code == 200 and "gapwatch_outbox_messages" in served.text


def test_json_logs_are_one_object_a_line_with_the_request_id(database_url, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "t",
                      "LOG_FORMAT": "json"})
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "gapwatch", False))
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        response = app.test_client().get("/readyz")
        logging.getLogger("gapwatch.test").warning("outside a request")
    finally:
        from gapwatch import logs

        logs.configure({})  # back to the default: no handler of ours
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "gapwatch.web.telemetry"]
    assert [(e["request_id"], e["route"], e["status"]) for e in access] == [
        (response.headers["X-Request-Id"], "/readyz", 200)]
    assert lines[-1]["message"] == "outside a request" and "request_id" not in lines[-1]
    assert not any(getattr(h, "gapwatch", False) for h in logging.getLogger().handlers)
