"""Turning a digest into an email's subject, plain-text part and HTML part."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gapwatch import clock
from gapwatch.alerts.digest import LISTED, Digest
from gapwatch.models import RANK_OF_SEVERITY


@dataclass(frozen=True)
class Mail:
    """An email ready for the outbox: who it is for, and its two parts."""

    kind: str  # "digest", "escalation" or "auditors"
    recipients: list[str]
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    """Create the mail templates' environment on first use (HTML escaped, text left alone)."""
    environment = Environment(
        loader=PackageLoader("gapwatch", "templates/alerts"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["long_day"] = clock.long_day  # "25 November 2026", as the pages say
    environment.filters["days_open"] = days_open_words
    return environment


def days_open_words(days: int) -> str:
    """Say how long a flag has been open as the pages do: "today", "1 day", "5 days"."""
    return "today" if days == 0 else _plural(days, "day")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# How a subject line names the worst thing in a digest, by rule.
HEADLINES = {
    "no-accountable-owner": "nobody responsible for {case}",
    "handoff-overdue": "a handoff of {case} is overdue",
    "release-unplanned": "{case} is released soon with no plan",
    "age-transition": "{case} turns 18 with no adult service asked",
    "contract-lapsed": "{case} is served under a lapsed contract",
    "unallocated": "{case} has no officer",
    "ping-pong": "{case} is bouncing between agencies",
    "dual-ownership": "{case} has two owners",
}


def worst(digest: Digest) -> str | None:
    """Say the worst thing in the digest: "1 critical: nobody responsible for WM-1001".

    Each list is in order of severity, then since (`gather`), so the first unanswered flag of
    each is its worst: the subject reads two flags and each list's count of the unanswered of
    each severity (`FlagLines`), not every one of a region's."""
    rank = lambda f: (RANK_OF_SEVERITY.get(f.severity, 9), f.since)  # noqa: E731
    lists = (digest.new_flags, digest.open_flags)
    firsts = [items.first_unanswered for items in lists if items.first_unanswered is not None]
    if not firsts:
        return None
    top = min(firsts, key=rank)
    same = sum(items.unanswered.get(top.severity, 0) for items in lists)
    headline = HEADLINES.get(top.rule, top.rule + " on {case}").format(case=top.case.reference)
    return f"{same} {top.severity}: {headline}" + (f" and {same - 1} more" if same > 1 else "")


def digest_subject(digest: Digest) -> str:
    parts = []
    if digest.new_flags:
        parts.append(_plural(digest.new_flags.total, "new flag"))
    if digest.open_flags:
        parts.append(f"{digest.open_flags.total} still open")
    if digest.waiting:
        parts.append(_plural(digest.waiting.total, "handoff") + " waiting")
    if digest.overdue:
        parts.append(_plural(digest.overdue.total, "sent handoff") + " overdue")
    if digest.coming:
        parts.append(f"{digest.coming.total} coming in {digest.coming_days} days")
    head, counts = worst(digest), ", ".join(parts)
    return (f"gapwatch {digest.agency.code} {clock.long_day(digest.day)}: "
            + (f"{head}; {counts}" if head else counts))


def escalation_subject(digest: Digest) -> str:
    count = _plural(digest.escalated.total, "flag")
    return f"gapwatch ESCALATED {digest.agency.code} {clock.long_day(digest.day)}: {count} open too long"


def render(name: str, **context) -> str:
    """Render the mail template `name` (templates/alerts/) with `context`."""
    return _environment().get_template(name).render(**context)


def _render(name: str, digest: Digest, escalate_after_days: int) -> str:
    return render(name, d=digest, escalate_after_days=escalate_after_days, limit=LISTED)


def digest_mail(digest: Digest, escalate_after_days: int) -> Mail:
    """Return the agency's daily digest email."""
    return Mail(
        kind="digest",
        recipients=list(digest.agency.alert_emails),
        subject=digest_subject(digest),
        text=_render("digest.txt", digest, escalate_after_days),
        html=_render("digest.html", digest, escalate_after_days),
    )


def escalation_mail(digest: Digest, escalate_after_days: int) -> Mail:
    """Return the escalation of the agency's long-open flags to its escalation address."""
    return Mail(
        kind="escalation",
        recipients=list(digest.escalation_emails),
        subject=escalation_subject(digest),
        text=_render("escalation.txt", digest, escalate_after_days),
        html=_render("escalation.html", digest, escalate_after_days),
    )
