"""The days ahead: what will become a gap in the next N days if nobody acts.

The forecast runs the same rules the daily scan runs, on the journeys as they stand today (rows
already dated ahead, such as an accepted transfer that takes effect next week, included), but
not thirty times: a rule's answer about a case changes only on the days its journey's own dates
name (`gapwatch.rules.next_changes`), so each rule is evaluated again only on its turning points.
It reports each finding that is not there today, with the first day it would be: a new flag, or
a flag turning more severe (a handoff 7 days overdue turns `high`).

What it finds of a case is kept (`CaseAhead`) by the daily scan and the digests' forecast, with
the last day it holds through: the first day after the days looked at on which a rule's answer
could change, less one. A later forecast that ends by then takes it as it is while the case is
unchanged and its next check has not come (its findings are still the ones it was read with),
so a case near a change is read once for the days ahead, not on each of the seven days before
it. A forecast of its own (the command, a page) writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, delete, select
from sqlmodel import Session

from gapwatch import bulk, clock, db, linked, snapshot
from gapwatch.audit import plain
from gapwatch.journey import Journey
from gapwatch.models import Case, CaseAhead
from gapwatch.rules import HORIZON, ONE_DAY, Context, Finding, Rules, findings_ahead, next_change

DEFAULT_DAYS = 30
ID_CHUNK = 1000  # cases read at once by their ids
# What is kept of a case looks this much further than the forecast that reads it, so it holds
# for the next days' forecasts too (until the case's next check, when the scan reads it).
KEPT_BEYOND = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Coming:
    """A finding that is not there today, and the first day it would be."""

    day: date
    finding: Finding

    def as_json(self) -> dict:
        f = self.finding
        return {"case": f.case, "rule": f.rule, "subject": f.subject, "severity": f.severity,
                "day": self.day.isoformat()}


@dataclass(frozen=True, slots=True)
class Ahead:
    """What is coming for one case up to a day, and the last day the list holds through."""

    through: date
    items: tuple[Coming, ...]

    def by(self, day: date) -> list[Coming]:
        """Return what is coming up to `day`."""
        return [c for c in self.items if c.day <= day]


@dataclass
class Forecast:
    as_of: date
    until: date
    cases: int = 0  # the journeys read
    kept: int = 0  # the cases whose kept items were taken instead (`CaseAhead`)
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
    digests' forecast of the same day takes their items as they are and reads only the others.
    What it reads of those is noted in `read`, as `keep` takes it, for the scan to keep with
    the digests: the forecast runs in a snapshot that writes nothing."""

    until: date
    rules: tuple  # the scan's rules and thresholds (`scan.Rulebook.rules`)
    ids: set[int] = field(default_factory=set)
    coming: list[Coming] = field(default_factory=list)
    read: dict[int, tuple[int, date, Ahead]] = field(default_factory=dict)


def mark(finding: Finding) -> tuple:
    return (*finding.key, finding.severity)


def coming(journey: Journey, context: Context, rules: Rules, until: date) -> list[Coming]:
    """Return what the rules would find about one journey on a day of `(context.day, until]`
    that they do not find on `context.day`, each with the first day it would be found (its
    evidence as JSON-native data, as a flag keeps it). A record linked into another's journey
    has nothing coming of its own: the scan runs no rule on it (`scan.Rulebook.findings`), and
    what its records bring is coming on its lead."""
    if journey.case.linked_into:
        return []
    ahead = findings_ahead(journey, context, rules, until)
    _day, today = next(ahead)
    known = {mark(f) for f in today}
    found: dict[tuple, Coming] = {}
    for day, findings in ahead:
        for f in findings:
            if mark(f) not in known and mark(f) not in found:
                found[mark(f)] = Coming(day, replace(f, evidence=plain(f.evidence)))
    return list(found.values())


def ahead_of(journey: Journey, context: Context, rules: Rules, until: date) -> Ahead:
    """Return what is coming for one journey up to `until` (`coming`), and the last day that
    holds through: no rule's answer about it changes after `until` before the day after."""
    after = next_change(journey, replace(context, day=until), rules)
    return Ahead(until + HORIZON if after is None else after - ONE_DAY,
                 tuple(coming(journey, context, rules, until)))


# -- what is kept ---------------------------------------------------------------------------------
def _stored(items: Iterable[Coming]) -> str:
    return json.dumps([[c.day.isoformat(), f.rule, f.subject, f.severity, f.since.isoformat(),
                        list(f.notify), f.message, f.evidence]
                       for c in items for f in (c.finding,)], separators=(",", ":"))


def _items(case_id: int, reference: str, stored: str, until: date) -> list[Coming]:
    last = until.isoformat()
    return [Coming(date.fromisoformat(day), Finding(
        case_id, reference, rule, subject, severity, date.fromisoformat(since), tuple(notify),
        message, evidence)) for day, rule, subject, severity, since, notify, message, evidence
        in json.loads(stored) if day <= last]


def keep(session: Session, read: Iterable[int],
         kept: Mapping[int, tuple[int, date, Ahead]]) -> None:
    """Replace what is kept for the cases `read` by `kept`: (version, next check, what is
    coming) by case, as they were read. A case read without its items kept (a unit of work's
    re-check) keeps nothing: the next forecast reads it.

    A journey shared with other records (a linked group's, or one with an open proposal) is
    kept too: whatever changes those records re-checks this case in the same unit and moves
    its version (`UnitOfWork.bump`), and a group whose open cases change by time alone is read
    again (`scan.regrouping`)."""
    table = CaseAhead.__table__
    connection = session.connection()
    ids = sorted(set(read) | set(kept))
    for start in range(0, len(ids), ID_CHUNK):
        connection.execute(delete(table).where(snapshot.among(ids[start:start + ID_CHUNK])(
            table.c.case_id)))
    bulk.insert_rows(connection, table, ("case_id", "version", "next_check_on", "through",
                                         "items"),
                     [(case_id, version, next_check, ahead.through, _stored(ahead.items))
                      for case_id, (version, next_check, ahead) in sorted(kept.items())])


def forget_all(session: Session) -> None:
    """Drop everything kept (a full scan: the rules or what they read may have changed)."""
    session.connection().execute(delete(CaseAhead.__table__))


def order(items: Iterable[Coming]) -> list[Coming]:
    return sorted(items, key=lambda c: (c.day, c.finding.case, c.finding.rule, c.finding.subject,
                                        c.finding.severity))


def _every(session: Session, day: date, until: date, chunk: int, where=None,
           skip: set[int] = frozenset()) -> Iterator[Journey]:
    """Yield the journey of every case open on a day of `[day, until]` that `where` keeps,
    but those of `skip`."""
    known = snapshot.agencies(session)
    links = linked.Links.read(session)
    clause = snapshot.open_between(day, until)
    if where is None:
        for first, last in snapshot.ranges(session, day, chunk, where=clause):
            yield from (journey for journey in snapshot.journeys_ahead(
                session, day, until, first, last, known, links) if journey.case.id not in skip)
        return
    ids = [row[0] for row in snapshot.tuples(
        session, select(Case.id).where(clause & where).order_by(Case.id)) if row[0] not in skip]
    for start in range(0, len(ids), ID_CHUNK):
        yield from snapshot.journeys(session, day, snapshot.among(ids[start:start + ID_CHUNK]),
                                     known, until=until, links=links)


def _near(session: Session, context: Context, until: date, where, skip: set[int], rules: Rules,
          result: Forecast, noted: dict | None, regrouped) -> list[Coming]:
    """Return what is coming by `until` for the cases `where` keeps (those near a change): for
    each, its kept items where they hold, else what its journey says, noted in `noted` (when
    given) for keeping.
    Nothing kept holds for the cases of the persons `regrouped` selects: their linked group
    gains or loses an open case by time alone (a case dated ahead), which its kept items, read
    with the group as it stood, do not know."""
    day = context.day
    holds = and_(CaseAhead.case_id == Case.id, CaseAhead.version == Case.version,
                 CaseAhead.next_check_on == Case.next_check_on, Case.next_check_on > day,
                 CaseAhead.through >= until, Case.person_id.not_in(regrouped))
    d = snapshot.Days()
    items: list[Coming] = []
    read: dict[int, tuple[int, date | None]] = {}
    # The cases, found once: a WHERE clause with subqueries asked again in each chunk's every
    # read cost more than the reads themselves.
    for case_id, reference, version, next_check, stored in snapshot.tuples(session, select(
            Case.id, Case.reference, Case.version, Case.next_check_on, CaseAhead.items)
            .outerjoin(CaseAhead, holds)
            .where(snapshot.open_between(day, until) & where).order_by(Case.id)):
        if case_id in skip:
            continue
        if stored is None:
            read[case_id] = (version, d(next_check))
        else:
            result.kept += 1
            items.extend(_items(case_id, reference, stored, until))
    known = snapshot.agencies(session)
    ids = list(read)
    kept: dict[int, tuple[int, date, Ahead]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        # Each chunk's proposals and links read for it alone: a few thousand cases, where
        # reading every open proposal once (`linked.Links`) cost more than the rules.
        for journey in snapshot.journeys(session, day, snapshot.among(ids[start:start + ID_CHUNK]),
                                         known, until=until):
            result.cases += 1
            found = ahead_of(journey, context, rules, until + KEPT_BEYOND)
            items.extend(found.by(until))
            version, next_check = read.get(journey.case.id, (None, None))
            if next_check is not None:  # a case never checked yet has nothing to hold for
                kept[journey.case.id] = (version, next_check, found)
    if noted is not None:
        noted.update(kept)
    return items


def forecast(session: Session, day: date, *, days: int = DEFAULT_DAYS,
             config: Mapping | None = None, chunk: int = snapshot.CHUNK, where=None,
             in_transaction: bool = False, full: bool = False,
             looked: Looked | None = None) -> Forecast:
    """Return what would be found on each of the `days` days after `day` and is not on `day`.

    It reads only the cases whose stored next check falls within the days ahead
    (`gapwatch.scan.changing`) where the last scan lets it, taking what is kept of them where
    it holds (`CaseAhead`), and every open case otherwise or when `full`: the same findings
    either way. `where`, a WHERE clause on Case, looks only at the cases it keeps (a page of
    one agency's keeps those that could tell it). The forecast ends its read-only transaction
    when done, unless `in_transaction` (inside a unit of work that has yet to commit: the daily
    digests). `looked`, from the scan of `day` (its digests, read from a snapshot of the flags
    it committed), gives the items of the cases it read, which are not read again; what the
    forecast reads of the others is noted in `looked.read`, which the scan keeps (`keep`) with
    the digests for the next days' forecasts.
    """
    from gapwatch.scan import (  # the scan's rules, as the scan configures them
        Rulebook,
        changing,
        regrouping,
    )

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
        rules = rulebook.rules
        if ahead is not None:
            items.extend(_near(session, context, until, ahead if where is None else where & ahead,
                               skip, rules, result, None if looked is None else looked.read,
                               regrouped=regrouping(session, until)))
        else:
            for journey in _every(session, day, until, chunk, where, skip):
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
