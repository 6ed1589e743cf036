"""The alert settings, read once from the app's config (or `config.Defaults` outside an app)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Read with these defaults when the config does not set them (GAPWATCH_OUTBOX_* in the env).
CLAIM_TIMEOUT = 300  # seconds a sender may hold a row before another sender takes it over
RETRY_FIRST = 60  # seconds before the first retry; doubled after each failure
RETRY_MAX = 6 * 3600  # the longest wait between two attempts


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


@dataclass(frozen=True)
class AlertSettings:
    base_url: str = "http://127.0.0.1:5000"
    escalate_after_days: int = 3
    mail_from: str = "gapwatch@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 30
    claim_timeout: float = CLAIM_TIMEOUT
    retry_first: float = RETRY_FIRST
    retry_max: float = RETRY_MAX
    # The digest's "Coming up" section: this many days ahead (0: none), by the rules' settings.
    coming_days: int = 7
    rule_config: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, config: Mapping | None = None) -> AlertSettings:
        """Read the settings from `config`, the current app's config, or the defaults."""
        if config is None:
            config = _current_config()
        get = config.get
        return cls(
            base_url=str(get("BASE_URL") or cls.base_url).rstrip("/"),
            escalate_after_days=int(get("ESCALATE_AFTER_DAYS", cls.escalate_after_days)),
            mail_from=str(get("MAIL_FROM") or cls.mail_from),
            smtp_host=str(get("SMTP_HOST") or cls.smtp_host),
            smtp_port=int(get("SMTP_PORT") or cls.smtp_port),
            smtp_user=get("SMTP_USER") or None,
            smtp_password=get("SMTP_PASSWORD") or None,
            smtp_starttls=_flag(get("SMTP_STARTTLS", False)),
            smtp_timeout=float(get("SMTP_TIMEOUT") or cls.smtp_timeout),
            claim_timeout=float(get("OUTBOX_CLAIM_TIMEOUT", CLAIM_TIMEOUT)),
            retry_first=float(get("OUTBOX_RETRY_FIRST", RETRY_FIRST)),
            retry_max=float(get("OUTBOX_RETRY_MAX", RETRY_MAX)),
            coming_days=int(get("DIGEST_COMING_DAYS", cls.coming_days)),
            rule_config=tuple(sorted((str(k), v) for k, v in config.items()
                                     if str(k).startswith("RULE_"))),
        )

    def case_link(self, reference: str) -> str:
        return f"{self.base_url}/cases/{reference}"

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: doubling, up to `retry_max`."""
        return min(self.retry_first * 2 ** max(attempts - 1, 0), self.retry_max)


def _current_config() -> Mapping:
    """Return the app's config; outside an app context, read it as `create_app` would.

    The scheduler runs its jobs in worker threads, which have no app context: the scan's call
    of `write_digests` must still see instance/config.py and the GAPWATCH_* variables.
    """
    from flask import Flask, current_app, has_app_context

    if has_app_context():
        return current_app.config
    from gapwatch import config

    bare = Flask("gapwatch", instance_relative_config=True)
    config.load(bare, None)
    return bare.config
