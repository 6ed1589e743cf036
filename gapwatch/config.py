"""Settings: defaults here, then `instance/config.py`, then `GAPWATCH_*` environment variables."""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV_PREFIX = "GAPWATCH_"


class Defaults:
    SECRET_KEY = None  # set in instance/config.py or GAPWATCH_SECRET_KEY; a dev key is made otherwise
    DATABASE_URL = None  # None: the SQLite file instance/gapwatch.sqlite
    BASE_URL = "http://127.0.0.1:5000"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # a working day, counted from signing in
    SESSION_REFRESH_EACH_REQUEST = False  # no new cookie on every page; the limit is absolute
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # The rules' thresholds (SPEC.md), overridable as GAPWATCH_RULE_<NAME>.
    RULE_RELEASE_WINDOW_DAYS = 28
    RULE_AGE_WINDOW_DAYS = 90
    RULE_ALLOCATION_DAYS = 5
    RULE_BOUNCE_WINDOW_DAYS = 90
    RULE_OVERLAP_DAYS = 7
    RULE_OVERDUE_HIGH_DAYS = 7
    RULE_CONTRACT_WARNING_DAYS = 30
    # Scheduled jobs and alerts.
    SCAN_AT = "06:00"
    ESCALATE_AFTER_DAYS = 3
    MAIL_FROM = "gapwatch@localhost"
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_STARTTLS = False
    SMTP_TIMEOUT = 30


def _parse(value: str):
    """Read an environment value as JSON where it is JSON (numbers, booleans, lists)."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load(app, test_config: dict | None) -> None:
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for key, value in os.environ.items():
            if key.startswith(ENV_PREFIX):
                name = key[len(ENV_PREFIX) :]
                app.config[name] = value if name in {"SECRET_KEY", "DATABASE_URL"} else _parse(value)
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'gapwatch.sqlite'}"
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _dev_secret(Path(app.instance_path))


def _dev_secret(instance: Path) -> str:
    """Keep a random key in instance/secret_key, so sessions survive a restart of `make run`."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
