"""How pages name things: agencies by name (their code where space is short), counts in words.

The agencies' names are read once per request, on first use, so a page that names none asks
nothing.
"""

from __future__ import annotations

from flask import Flask, g
from markupsafe import Markup, escape
from sqlalchemy import select

from gapwatch.db import get_session
from gapwatch.models import Agency


def agency_names() -> dict[str, str]:
    if "agency_names" not in g:
        g.agency_names = dict(get_session().execute(select(Agency.code, Agency.name)).all())
    return g.agency_names


def agency(code: str | None, short: bool = False) -> Markup | str:
    """Name an agency: "West Midlands Probation (WMIDS)", or, `short`, its code with the name
    as an abbreviation's title."""
    if not code:
        return ""
    name = agency_names().get(code)
    if name is None or name == code:
        return code
    if short:
        return Markup(f'<abbr title="{escape(name)}">{escape(code)}</abbr>')
    if name.endswith(f"({code})"):  # the name carries its code already: "Youth Support Services (YSS)"
        return name
    return Markup(f'{escape(name)} <span class="gw-code">({escape(code)})</span>')


def agency_name(code: str | None) -> str:
    """An agency's name alone, for text where markup cannot go (a select's options, a message)."""
    return agency_names().get(code, code or "") if code else ""


def plural(count: int, one: str, many: str | None = None) -> str:
    """Say a count: "1 agency", "2 agencies"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def init_app(app: Flask) -> None:
    app.add_template_filter(agency, "agency")
    app.add_template_filter(agency_name, "agency_name")
    app.add_template_global(plural, "plural")
