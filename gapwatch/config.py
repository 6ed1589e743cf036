"""Settings: defaults here, then `instance/config.py`, then `GAPWATCH_*` environment variables."""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path

ENV_PREFIX = "GAPWATCH_"


class Defaults:
    # "production" refuses to start on insecure settings (`check_production`); anything else is
    # development, where missing keys are made in instance/.
    ENV = "development"
    SECRET_KEY = None  # set in instance/config.py or GAPWATCH_SECRET_KEY; a dev key is made otherwise
    DATABASE_URL = None  # None: the SQLite file instance/gapwatch.sqlite
    BASE_URL = "http://127.0.0.1:5000"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # a working day, counted from signing in
    SESSION_REFRESH_EACH_REQUEST = False  # no new cookie on every page; the limit is absolute
    SESSION_IDLE_MINUTES = 30  # signed out after this long without use (ASVS 3.3.2)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Failed sign-ins, throttled (Flask-Limiter's notation); the storage is shared by every
    # worker only when it is Redis or Memcached: memory:// counts per process (dev and tests).
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_CLIENT = "50 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Request bodies: the API's largest batch (1,000 events) fits in 2 MB; forms in 64 KB.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024
    # How many proxies in front set X-Forwarded-For/-Proto (0: none; gunicorn behind nginx: 1).
    PROXY_COUNT = 0
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
    # A web or API write waits this long for the writers' lock (the daily scan applying its
    # changes, an import), then answers 503 with Retry-After.
    WRITE_WAIT_SECONDS = 10
    ESCALATE_AFTER_DAYS = 3
    DIGEST_COMING_DAYS = 7  # the digest's "Coming up" section looks this many days ahead (0: none)
    MAIL_FROM = "gapwatch@localhost"
    SMTP_HOST = "localhost"
    SMTP_PORT = 25
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_STARTTLS = False
    SMTP_TIMEOUT = 30
    # The audit trail's signed checkpoints (gapwatch.checkpoint): the Ed25519 signing key, kept
    # outside the database (None: instance/audit_signing_key.pem, made in development only),
    # and the directory they are written to (None: instance/checkpoints).
    AUDIT_KEY_FILE = None
    CHECKPOINT_DIR = None
    # Who receives the auditors' daily digest (the latest checkpoint) besides every active
    # auditor account: a list, or one string of addresses separated by commas.
    AUDITOR_EMAILS: list[str] = []
    # Operations (docs/operations.md).
    DAILY_DEADLINE = "07:00"  # Europe/London: /healthz/daily fails after it without the day's run
    HEARTBEAT_MAX_AGE_SECONDS = 300  # doctor fails when no scheduler beat for this long
    METRICS_TOKEN = None  # /metrics answers only `Authorization: Bearer <this>`; 404 while unset
    LOG_FORMAT = "text"  # or "json": one JSON object a line, with the request id
    # The dashboard bodies every web worker of a server shares (None: instance/kept).
    DASHBOARD_KEPT_DIR = None


# Settings read as given, never as JSON: a numeric token must stay a string.
TEXT_SETTINGS = {"SECRET_KEY", "DATABASE_URL", "METRICS_TOKEN", "DAILY_DEADLINE", "SCAN_AT"}


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
                app.config[name] = value if name in TEXT_SETTINGS else _parse(value)
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'gapwatch.sqlite'}"
    production = app.config["ENV"] == "production"
    if production:
        check_production(app.config)
    elif not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _dev_secret(Path(app.instance_path))
    if str(app.config["BASE_URL"]).startswith("https://"):
        # Served over HTTPS: the browser must never send the session over plain HTTP.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    instance = Path(app.instance_path)
    app.config["AUDIT_KEY_FILE"] = str(app.config["AUDIT_KEY_FILE"] or instance / "audit_signing_key.pem")
    app.config["CHECKPOINT_DIR"] = str(app.config["CHECKPOINT_DIR"] or instance / "checkpoints")


class InsecureSettings(RuntimeError):
    """Production settings gapwatch refuses to start with; the message lists each and its fix."""


def check_production(config) -> None:
    """Refuse to start in production without a shared secret, HTTPS, a signing key and shared limits."""
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < 32:
        problems.append("GAPWATCH_SECRET_KEY must be set to a random value of at least 32 "
                        "characters, the same on every web server (python3 -c 'import secrets; "
                        "print(secrets.token_hex(32))')")
    if not str(config.get("BASE_URL", "")).startswith("https://"):
        problems.append("GAPWATCH_BASE_URL must be the public https:// address: sessions and "
                        "personal data travel only over HTTPS")
    key = config.get("AUDIT_KEY_FILE")
    if not key or not Path(key).is_file():
        problems.append("GAPWATCH_AUDIT_KEY_FILE must name the audit checkpoints' signing key "
                        "file, kept outside the database (`gapwatch audit keygen FILE` makes one)")
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        problems.append("GAPWATCH_RATELIMIT_STORAGE_URI must be shared by every worker and host "
                        "(redis://host:6379/0): memory:// counts sign-in failures per process")
    if problems:
        raise InsecureSettings("gapwatch refuses to start in production:\n  - "
                               + "\n  - ".join(problems))


def create_secret_file(path: Path, data: bytes) -> None:
    """Create `path` holding `data`, readable by its owner only from the first byte on.

    O_EXCL: an existing file (or a link planted in its place) is never written through; the
    mode is given at creation, so there is no moment when others may read the key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _dev_secret(instance: Path) -> str:
    """Keep a random key in instance/secret_key, so sessions survive a restart of `make run`."""
    path = instance / "secret_key"
    # FileExistsError: made by an earlier start, or by another worker starting at this moment.
    with suppress(FileExistsError):
        create_secret_file(path, os.urandom(32).hex().encode())
    return path.read_text().strip()
