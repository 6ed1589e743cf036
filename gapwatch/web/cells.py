"""The cells the lists repeat on every row: a person, a risk, a severity, a due day, as markup,
and the ranks the sortable tables order risks and severities by.

Made in Python, not as Jinja macros: the dashboard prints several hundred of them each time it
is rendered afresh, and a macro call costs several times what these functions do. Each returns
`Markup` with every value from the data escaped.
"""

from __future__ import annotations

from datetime import date

from flask import Flask
from markupsafe import Markup, escape

from gapwatch.clock import long_day
from gapwatch.models import RANK_OF_RISK, RANK_OF_SEVERITY

RESTRICTED = Markup('<strong class="govuk-tag govuk-tag--purple">restricted</strong>')
RISK_COLOURS = {"very_high": "red", "high": "orange", "medium": "yellow", "low": "grey"}
SEVERITY_COLOURS = {"critical": "red", "high": "orange", "medium": "yellow", "low": "grey"}
NO_DAY = Markup('<span class="gw-muted">none</span>')


def _tag(colour: str, text: str, extra: str = "") -> Markup:
    classes = f"govuk-tag govuk-tag--{colour}" + (f" {extra}" if extra else "")
    return Markup(f'<strong class="{classes}">{escape(text)}</strong>')


def person_cell(row, details) -> Markup:
    """A person's name, or "restricted" where the user may not see a restricted person's name
    (`details`: the case ids whose restricted details the user may open)."""
    if row.restricted and row.case_id not in details:
        return RESTRICTED
    name = Markup(f"{escape(row.given_name)} {escape(row.family_name)}")
    return name + " " + RESTRICTED if row.restricted else name


def risk_tag(level: str, extra: str = "") -> Markup:
    """A risk level's tag; `extra`: a class of the page's own (the case page's `gw-risk`)."""
    return _tag(RISK_COLOURS.get(level, "grey"), level.replace("_", " "), extra)


def severity_tag(level: str, extra: str = "") -> Markup:
    return _tag(SEVERITY_COLOURS.get(level, "grey"), level, extra)


def risk_rank(level: str) -> int:
    """Where a risk level sorts, the highest first (an unknown one last)."""
    return RANK_OF_RISK.get(level, len(RANK_OF_RISK))


def severity_rank(level: str) -> int:
    """Where a severity sorts, the most severe first (an unknown one last)."""
    return RANK_OF_SEVERITY.get(level, len(RANK_OF_SEVERITY))


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def due_cell(day: date | None, today: date) -> Markup:
    """A due day with how late it is, or how soon."""
    if not day:
        return NO_DAY
    if day < today:
        return Markup(f'<span class="gw-overdue gw-nowrap">{long_day(day)}</span><br>'
                      f'<strong class="govuk-tag govuk-tag--red">{_days((today - day).days)} late</strong>')
    if day == today:
        return Markup(f'<strong class="gw-nowrap">{long_day(day)}</strong><br>'
                      '<strong class="govuk-tag govuk-tag--orange">today</strong>')
    return Markup(f'<span class="gw-nowrap">{long_day(day)}</span><br>'
                  f'<span class="gw-muted gw-nowrap">in {_days((day - today).days)}</span>')


def init_app(app: Flask) -> None:
    for cell in (person_cell, risk_tag, severity_tag, due_cell, risk_rank, severity_rank):
        app.add_template_global(cell)
