"""The days ahead: what will become a gap in the next N days if nobody acts.

The forecast runs the same rules the daily scan runs, on the journeys as they stand today (rows
already dated ahead, such as an accepted transfer that takes effect next week, included), but
not thirty times: a rule's answer about a case changes only on the days its journey's own dates
name (`gapwatch.rules.next_changes`), so each rule is evaluated again only on its turning points.
It reports each finding that is not there today, with the first day it would be: a new flag, or
a flag turning more severe (a handoff 7 days overdue turns `high`). Nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import Session

from gapwatch import clock, db, linked, snapshot
from gapwatch.journey import Journey
from gapwatch.models import Case
from gapwatch.rules import Context, Finding, Rules, findings_ahead

DEFAULT_DAYS = 30
ID_CHUNK = 1000  # cases read at once by their ids


@dataclass(frozen=True, slots=True)
class Coming:
    """A finding that is not there today, and the first day it would be."""

    day: date
    finding: Finding

    def as_json(self) -> dict:
        f = self.finding
        return {"case": f.case, "rule": f.rule, "subject": f.subject, "severity": f.severity,
                "day": self.day.isoformat()}


@dataclass
class Forecast:
    as_of: date
    until: date
    cases: int = 0
    coming: list[Coming] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "coming": [c.as_json() for c in self.coming]}

    def for_agency(self, code: str) -> list[Coming]:
        """Return what is coming that would tell agency `code`."""
        return [c for c in self.coming if code in c.finding.notify]


@dataclass
class Looked:
    """The cases a scan has just read, and what the forecast up to `until` says of them: the
    scan's rules ran on each one's whole journey already (`scan.Rulebook.check`), so the
    digests' forecast of the same day takes their items as they are and reads only the others."""

    until: date
    rules: tuple  # the scan's rules and thresholds (`scan.Rulebook.rules`)
    ids: set[int] = field(default_factory=set)
    coming: list[Coming] = field(default_factory=list)


def mark(finding: Finding) -> tuple:
    return (*finding.key, finding.severity)


def coming(journey: Journey, context: Context, rules: Rules, until: date) -> list[Coming]:
    """Return what the rules would find about one journey on a day of `(context.day, until]`
    that they do not find on `context.day`, each with the first day it would be found."""
    ahead = findings_ahead(journey, context, rules, until)
    _day, today = next(ahead)
    known = {mark(f) for f in today}
    found: dict[tuple, Coming] = {}
    for day, findings in ahead:
        for f in findings:
            if mark(f) not in known:
                found.setdefault(mark(f), Coming(day, f))
    return list(found.values())


def order(items: Iterable[Coming]) -> list[Coming]:
    return sorted(items, key=lambda c: (c.day, c.finding.case, c.finding.rule, c.finding.subject,
                                        c.finding.severity))


def _journeys(session: Session, day: date, until: date, chunk: int,
              where=None, skip: set[int] = frozenset()) -> Iterator[Journey]:
    known = snapshot.agencies(session)
    links = linked.Links.read(session)
    clause = snapshot.open_between(day, until)
    if where is None:
        for first, last in snapshot.ranges(session, day, chunk, where=clause):
            for journey in snapshot.journeys_ahead(session, day, until, first, last, known,
                                                   links):
                if journey.case.id not in skip:
                    yield journey
        return
    # The cases kept, found once: a WHERE clause with subqueries asked again in each chunk's
    # every read cost more than the reads themselves.
    ids = [row[0] for row in snapshot.tuples(
        session, select(Case.id).where(clause & where).order_by(Case.id)) if row[0] not in skip]
    for start in range(0, len(ids), ID_CHUNK):
        yield from snapshot.journeys(session, day, snapshot.among(ids[start:start + ID_CHUNK]),
                                     known, until=until, links=links)


def forecast(session: Session, day: date, *, days: int = DEFAULT_DAYS,
             config: Mapping | None = None, chunk: int = snapshot.CHUNK, where=None,
             in_transaction: bool = False, full: bool = False,
             looked: Looked | None = None) -> Forecast:
    """Return what would be found on each of the `days` days after `day` and is not on `day`.

    It reads only the cases whose stored next check falls within the days ahead
    (`gapwatch.scan.changing`) where the last scan lets it, and every open case otherwise or
    when `full`: the same findings either way. `where`, a WHERE clause on Case, looks only
    at the cases it keeps (a page of one agency's keeps those that could tell it). The forecast
    ends its read-only transaction when done, unless `in_transaction` (inside a unit of work
    that has yet to commit: the daily digests). `looked`, from the scan of `day` in the same
    transaction (the digests'), gives the items of the cases it read, which are not read again.
    """
    from gapwatch.scan import Rulebook, changing  # the scan's rules, as the scan configures them

    if days < 1:
        raise ValueError(f"the forecast looks at least 1 day ahead, not {days}")
    until = day + timedelta(days=days)
    rulebook = Rulebook.configured(config)
    context = Context(day=day, contracts=snapshot.contracts(session, snapshot.agencies(session)))
    result = Forecast(as_of=day, until=until)
    items = []
    skip: set[int] = set()
    if (looked is not None and looked.until == until and looked.rules == rulebook.rules
            and where is None):
        items, skip = list(looked.coming), looked.ids
    try:
        ahead = None if full else changing(session, day, until, rulebook)
        if ahead is not None:
            where = ahead if where is None else where & ahead
        rules = rulebook.rules
        for journey in _journeys(session, day, until, chunk, where, skip):
            result.cases += 1
            items.extend(coming(journey, context, rules, until))
    finally:
        if not in_transaction:
            session.rollback()
    result.coming = order(items)
    return result


def _table(result: Forecast) -> str:
    lines = [f"{'DAY':<10} {'CASE':<14} {'RULE':<21} {'SEVERITY':<8} SUBJECT"]
    for c in result.coming:
        f = c.finding
        lines.append(f"{c.day} {f.case:<14} {f.rule:<21} {f.severity:<8} {f.subject}")
    lines.append(f"{result.as_of}: {len(result.coming)} findings coming by {result.until} "
                 f"in {result.cases} cases")
    return "\n".join(lines)


@click.command("forecast")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="Look ahead from this day (default: today, Europe/London).")
@click.option("--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(1, 366),
              help="How many days to look ahead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--full", is_flag=True,
              help="Read every open case, not only those whose next check falls in the days ahead.")
@with_appcontext
def forecast_command(as_of: str | None, days: int, as_json: bool, full: bool):
    """Show what will become a gap in the days ahead if nobody acts."""
    from gapwatch.cli import parse_day

    day = parse_day(None, None, as_of) or clock.today()
    session = db.new_session(db.get_engine())
    try:
        result = forecast(session, day, days=days, config=current_app.config, full=full)
    finally:
        session.close()
    click.echo(json.dumps(result.as_json()) if as_json else _table(result))
