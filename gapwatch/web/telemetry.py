"""Every request: an id (kept from a proxy's `X-Request-Id` when it is sane), one log line with
its Flask route, status and time, and the request metrics. The line names the route, never the
path, so no case reference reaches the logs or the metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from gapwatch import logs, metrics

log = logging.getLogger(__name__)
HEADER = "X-Request-Id"
SANE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def _start() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if SANE.fullmatch(given) else uuid.uuid4().hex
    logs.REQUEST_ID.set(g.request_id)
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.pop("request_started", None)
    if started is None:  # the request failed before it began
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    metrics.observe(route, request.method, response.status_code, seconds)
    log.info("%s %s %s", request.method, route, response.status_code,
             extra={"method": request.method, "route": route, "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1)})
    response.headers[HEADER] = g.request_id
    return response


def _forget(_exc=None) -> None:
    logs.REQUEST_ID.set(None)  # a worker's next request must not inherit this one's id


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)
