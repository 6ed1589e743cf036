"""Health endpoints for a monitor, and /metrics for Prometheus: no sign-in, no personal data.

- `/healthz`: the process answers;
- `/readyz`: the database answers and its schema is at the latest migration (else 503);
- `/healthz/daily`: today's daily scan completed by `GAPWATCH_DAILY_DEADLINE` and its digests
  are sent or visibly failing (else 503 with the reason in one line);
- `/metrics`: only with `Authorization: Bearer $GAPWATCH_METRICS_TOKEN`; 404 while it is unset.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from gapwatch import db, health, metrics

bp = Blueprint("health", __name__)


def _answer(checks: list[health.Check]) -> Response:
    failed = [c for c in checks if not c.ok]
    lines = "\n".join(f"{'ok' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in checks)
    response = Response(lines + "\n", 503 if failed else 200, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def alive():
    """Answer while the process serves requests."""
    return _answer([health.Check("process", True, "answers")])


@bp.get("/readyz")
def ready():
    """Answer 200 when the database answers at the latest schema, 503 otherwise."""
    return _answer(health.ready(db.get_engine()))


@bp.get("/healthz/daily")
def daily():
    """Answer 503 with the reason when today's scan or its digests are late."""
    return _answer([health.daily(db.get_engine(), current_app.config)])


@bp.get("/metrics")
def scrape():
    """Serve the metrics to a scraper that shows the metrics token."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("a bearer token is needed\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="gapwatch metrics"'})
    return Response(metrics.exposition(db.get_engine()), 200, content_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})
