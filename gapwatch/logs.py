"""Logging: Python's own text by default, or with `GAPWATCH_LOG_FORMAT=json` one JSON object a line.

A web request's id (`REQUEST_ID`, set by `gapwatch.web.telemetry`) is in each of its lines, in
its `X-Request-Id` response header and in the detail of the audit entries it writes, so a
platform's logs, a person's report and the audit trail can be joined on it.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Fields a line may carry beyond the message, passed as `extra=` by gapwatch's own loggers.
FIELDS = ("method", "route", "status", "duration_ms")


class JsonLines(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for name in FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(config: Mapping) -> None:
    """Send gapwatch's logs to standard error as JSON lines when LOG_FORMAT is json."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "gapwatch", False)]:
        root.removeHandler(handler)
    if str(config.get("LOG_FORMAT", "text")).lower() != "json":
        return
    handler = logging.StreamHandler()
    handler.gapwatch = True
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(str(config.get("LOG_LEVEL", "INFO")).upper())
