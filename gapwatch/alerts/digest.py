"""What each agency's duty inbox hears about on a day: its flags and the handoffs it must act on.

`gather(session, day, settings)` reads everything in a handful of set-based queries (agencies,
flags, pending handoffs, owners of restricted cases, contracts) and returns one `Digest` per
agency with something to say. A digest lists:

- new flags (first seen on the day) and flags still open (most severe first, then oldest, with
  how many days), of the severities the agency chose (`Agency.alert_severities`), where the
  agency is among the flag's `notify` codes; a flag this agency acknowledged stays in its list,
  marked, unless it snoozed it past the day (each agency acknowledges for itself);
- handoffs waiting for the agency's decision, and those it sent that are overdue;
- the flags open for `escalate_after_days` or more, which are also escalated
  (`gapwatch.alerts.escalation` says to whom);
- what is coming in the next `coming_days` (7) days if nobody acts: `gapwatch.forecast`'s
  findings that would tell the agency, of the severities it chose, each on its first day. An
  agency with only something coming still gets its digest: the warning is the point.

A restricted person's name is shown only to agencies that may open the details on the day
(`gapwatch.details.openers`, the authority's open-details rule); everyone else reads "name
withheld".
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch import details, snapshot
from gapwatch.alerts.escalation import commissioners, escalation_emails
from gapwatch.alerts.settings import AlertSettings
from gapwatch.forecast import Looked, forecast
from gapwatch.models import (
    RANK_OF_SEVERITY,
    Agency,
    Case,
    Flag,
    FlagAcknowledgement,
    FlagStatus,
    Handoff,
    HandoffStatus,
    Person,
)
from gapwatch.rules import days_open


@dataclass(frozen=True, slots=True)
class CaseLine:
    """The case an item is about, as the receiving agency may see it."""

    reference: str
    name: str | None  # None: restricted, and not this agency's to see
    link: str
    restricted: bool = False


@dataclass(frozen=True, slots=True)
class FlagItem:
    case: CaseLine
    rule: str
    severity: str
    message: str
    since: date
    days_open: int
    acknowledged: bool
    escalated: bool
    subject: str = ""


@dataclass(frozen=True, slots=True)
class HandoffItem:
    case: CaseLine
    kind: str
    role: str
    from_agency: str | None
    to_agency: str
    requested_on: date
    due_on: date | None
    days_overdue: int


@dataclass(frozen=True, slots=True)
class ComingItem:
    """A finding not there today that the rules would make on `day` if nobody acts."""

    case: CaseLine
    day: date
    rule: str
    severity: str
    message: str


# Each list of a digest shows this many lines, then how many more are on the dashboard: a duty
# inbox reads the first hundred. A digest gathered holds no more of each (`gather`): at 500,000
# cases an agency hears of tens of thousands of flags, and making a line of each cost the daily
# scan more than its rules did.
LISTED = 100


class Lines(list):
    """The lines a digest shows of one of its lists, in order, and how many the list has in all
    (`total`): every line, unless it was gathered with more than `LISTED`."""

    def __init__(self, shown: Iterable = (), total: int | None = None):
        super().__init__(shown)
        self._total = total

    @property
    def total(self) -> int:
        return len(self) if self._total is None else self._total


class FlagLines(Lines):
    """A digest's lines of flags, and of those nobody of the agency has answered (acknowledged)
    in the whole list: the first, and how many of each severity (the subject line's worst)."""

    def __init__(self, shown: Iterable = (), total: int | None = None, *,
                 first_unanswered: FlagItem | None = None,
                 unanswered: dict[str, int] | None = None):
        super().__init__(shown, total)
        if unanswered is None:  # every line is here: read them
            unanswered = {}
            for f in self:
                if not f.acknowledged:
                    first_unanswered = first_unanswered or f
                    unanswered[f.severity] = unanswered.get(f.severity, 0) + 1
        self.first_unanswered, self.unanswered = first_unanswered, unanswered


@dataclass
class Digest:
    """One agency's digest for one day. Each list is a `Lines`: the lines shown, and `total`."""

    agency: Agency
    day: date
    new_flags: FlagLines = field(default_factory=FlagLines)
    open_flags: FlagLines = field(default_factory=FlagLines)
    waiting: Lines = field(default_factory=Lines)
    overdue: Lines = field(default_factory=Lines)
    escalation_emails: list[str] = field(default_factory=list)
    coming: Lines = field(default_factory=Lines)
    coming_days: int = 0
    # The flags to escalate, oldest first: of the lists' flags when not given.
    escalated: Lines | None = None

    def __post_init__(self) -> None:
        # Lists given whole (a digest made by hand) are read as they are.
        for name in ("new_flags", "open_flags"):
            if not isinstance(getattr(self, name), FlagLines):
                setattr(self, name, FlagLines(getattr(self, name)))
        for name in ("waiting", "overdue", "coming"):
            if not isinstance(getattr(self, name), Lines):
                setattr(self, name, Lines(getattr(self, name)))
        if self.escalated is None:
            self.escalated = Lines(sorted(
                (f for f in self.new_flags + self.open_flags if f.escalated),
                key=lambda f: f.since))
        elif not isinstance(self.escalated, Lines):
            self.escalated = Lines(self.escalated)

    @property
    def is_empty(self) -> bool:
        return not (self.new_flags or self.open_flags or self.waiting or self.overdue
                    or self.coming)


@dataclass
class _Facts:
    """The rows of one day, read once for every agency."""

    agencies: dict[str, Agency]
    flags: list[tuple]  # (flag id, case id, severity, since, notify, first seen, reference)
    acks: dict[int, dict[str, date | None]]  # each flag's acknowledgements: agency, snooze end
    handoffs: list[tuple]  # (case id, kind, role, requested on, due on, reference, name,
    #                       sender, receiver, restricted)
    owners: dict[int, set[int]]  # restricted cases: who may open their details (agency ids)
    commissioners: dict[str, list[str]]


def gather(session: Session, day: date, settings: AlertSettings,
           looked: Looked | None = None) -> list[Digest]:
    """Return the digests of every active agency with something to say on `day` (`looked`:
    what the scan of `day` noted of the days ahead of the cases it read)."""
    facts = _read(session, day)
    digests = {code: Digest(agency, day, coming_days=settings.coming_days)
               for code, agency in facts.agencies.items()}
    lines = _Lines(facts, settings)
    # Most severe first, then oldest, then by case, then in the order the flags were opened:
    # the rows sorted once, so each agency's lists are made in that order (two or three
    # agencies read each flag), whatever order the database answered them in.
    facts.flags.sort(key=lambda f: (RANK_OF_SEVERITY.get(f[2], 9), f[3], f[6], f[0]))
    _add_flags(session, digests, facts, day, settings, lines)
    _add_handoffs(digests, facts, day, lines)
    if settings.coming_days > 0:
        _add_coming(session, digests, day, settings, looked, lines)
    for digest in digests.values():
        digest.waiting.sort(key=lambda h: (h.due_on or date.max, h.requested_on, h.case.reference))
        digest.overdue.sort(key=lambda h: (-h.days_overdue, h.case.reference))
        if digest.escalated:
            digest.escalation_emails = escalation_emails(
                digest.agency, facts.agencies, facts.commissioners)
    return [d for code, d in sorted(digests.items()) if not d.is_empty]


def _read(session: Session, day: date) -> _Facts:
    open_on_day = (Case.opened_on <= day) & or_(Case.closed_on.is_(None), Case.closed_on > day)
    agencies = {a.code: a for a in session.execute(select(Agency).where(Agency.active)).scalars()}
    # The columns the digests print, not whole Flag and Handoff objects (reading those was a
    # quarter of a large scan's time), as the driver's own tuples (`snapshot.tuples`), their
    # days parsed where the driver answers text (SQLite).
    d = snapshot.Days()
    # Only what places each flag in the lists, as the driver's own tuples (`snapshot.tuples`),
    # `notify` as its text (decoded once per distinct list, `snapshot.Codes`), days parsed where
    # the driver answers text (SQLite): what a line prints is read for the lines shown.
    flags = [(*row[:3], d(row[3]), row[4], d(row[5]), row[6]) for row in snapshot.tuples(
        session,
        select(Flag.id, Flag.case_id, Flag.severity, Flag.since, cast(Flag.notify, Text),
               Flag.first_seen_on, Case.reference)
        .join(Case, Case.id == Flag.case_id)
        .where(
            Flag.status.in_([FlagStatus.open.value, FlagStatus.acknowledged.value]),
            Flag.first_seen_on <= day,
            open_on_day,
        ))]
    sender, receiver = aliased(Agency), aliased(Agency)
    handoffs = [(*row[:3], d(row[3]), d(row[4]), *row[5:]) for row in snapshot.tuples(
        session,
        select(Handoff.case_id, Handoff.kind, Handoff.role, Handoff.requested_on, Handoff.due_on,
               Case.reference, (Person.given_name + " " + Person.family_name).label("name"),
               sender.code.label("sender"), receiver.code.label("receiver"), Person.restricted)
        .join(Case, Case.id == Handoff.case_id)
        .join(Person, Person.id == Case.person_id)
        .outerjoin(sender, sender.id == Handoff.from_agency_id)
        .join(receiver, receiver.id == Handoff.to_agency_id)
        .where(Handoff.status == HandoffStatus.pending.value, Handoff.requested_on <= day,
               open_on_day))]
    acks: dict[int, dict[str, date | None]] = defaultdict(dict)
    for flag_id, agency, until in session.execute(
        select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency,
               FlagAcknowledgement.snoozed_until)
        .join(Flag, Flag.id == FlagAcknowledgement.flag_id)
        .where(Flag.status.in_([FlagStatus.open.value, FlagStatus.acknowledged.value]))
    ):
        acks[flag_id][agency] = until
    return _Facts(agencies, flags, acks, handoffs, details.openers(session, day),
                  commissioners(session, day))


class _Lines:
    """The case lines of one case, as each agency may see it: one line shown and one withheld,
    made once and shared by every agency's items (a region's flags each tell two or three)."""

    def __init__(self, facts: _Facts, settings: AlertSettings):
        self.ids = {code: agency.id for code, agency in facts.agencies.items()}
        self.owners = facts.owners
        self.link = settings.case_link

    def of(self, case_id: int, reference: str, name: str, restricted: bool):
        """Return `line(agency code) -> CaseLine` for one case."""
        shown = CaseLine(reference, name, self.link(reference), bool(restricted))
        if not restricted:
            return lambda _code: shown
        withheld = CaseLine(reference, None, shown.link, restricted)
        owners = self.owners.get(case_id, ())
        return lambda code: shown if self.ids[code] in owners else withheld


class _Heard:
    """What one agency hears of the day's flags, as the first pass finds it: for new flags
    (0) and those still open (1), the first `LISTED` (row, acknowledged, escalated), how
    many in all, the first unanswered and how many unanswered of each severity; and every
    flag it escalates, as (since, list, row), to take the oldest."""

    __slots__ = ("shown", "totals", "firsts", "unanswered", "escalated")

    def __init__(self) -> None:
        self.shown: tuple[list, list] = ([], [])
        self.totals = [0, 0]
        self.firsts: list[tuple | None] = [None, None]
        self.unanswered: tuple[dict, dict] = ({}, {})
        self.escalated: list[tuple] = []


def _add_flags(session: Session, digests: dict[str, Digest], facts: _Facts, day: date,
               settings: AlertSettings, lines: _Lines) -> None:
    """Share the day's flags out to the agencies they tell, then make the lines shown."""
    codes = snapshot.Codes()
    escalate = settings.escalate_after_days
    heard = {code: _Heard() for code in digests}
    for row, (flag_id, _case_id, severity, since, notify, first_seen_on, _reference) in (
            enumerate(facts.flags)):
        said = facts.acks.get(flag_id, {})
        escalated_from = (day - first_seen_on).days >= escalate
        which = 0 if first_seen_on == day else 1
        for code in codes[notify]:
            digest = digests.get(code)
            if digest is None or severity not in digest.agency.alert_severities:
                continue
            until = said.get(code)
            if until is not None and until >= day:
                continue  # this agency asked for quiet until then; the others still hear
            # A snooze that has passed ends that agency's acknowledgement: it hears again.
            acknowledged = code in said and until is None
            # Escalate a flag open (not a condition begun) escalate_after_days ago, for each
            # agency that has not said it is on it.
            escalated = escalated_from and not acknowledged
            h = heard[code]
            h.totals[which] += 1
            if len(h.shown[which]) < LISTED:
                h.shown[which].append((row, acknowledged, escalated))
            if not acknowledged:
                counts = h.unanswered[which]
                counts[severity] = counts.get(severity, 0) + 1
                if h.firsts[which] is None:
                    h.firsts[which] = (row, acknowledged, escalated)
                if escalated:
                    h.escalated.append((since, which, row))
    oldest = {code: heapq.nsmallest(LISTED, h.escalated) for code, h in heard.items()}
    wanted = {entry[0] for h in heard.values() for entry in (*h.shown[0], *h.shown[1])}
    wanted.update(entry[0] for h in heard.values() for entry in h.firsts if entry)
    wanted.update(row for kept in oldest.values() for _since, _which, row in kept)
    said = _said(session, [facts.flags[row][0] for row in wanted])
    made: dict[tuple, FlagItem] = {}  # the same item for every agency that reads it alike
    line_of: dict[int, object] = {}

    def item(code: str, entry: tuple) -> FlagItem:
        row, acknowledged, escalated = entry
        flag_id, case_id, severity, since, _notify, _first, reference = facts.flags[row]
        rule, subject, message, name, restricted = said[flag_id]
        line = line_of.get(case_id)
        if line is None:
            line = line_of[case_id] = lines.of(case_id, reference, name, restricted)
        case_line = line(code)
        found = made.get((row, id(case_line), acknowledged))
        if found is None:
            found = made[row, id(case_line), acknowledged] = FlagItem(
                case=case_line, rule=rule, severity=severity, message=message, since=since,
                days_open=days_open(since, day), acknowledged=acknowledged,
                escalated=escalated, subject=subject)
        return found

    for code, h in heard.items():
        digest = digests[code]
        digest.new_flags, digest.open_flags = (FlagLines(
            [item(code, entry) for entry in h.shown[which]], h.totals[which],
            first_unanswered=h.firsts[which] and item(code, h.firsts[which]),
            unanswered=h.unanswered[which]) for which in (0, 1))
        digest.escalated = Lines([item(code, (row, False, True))
                                  for _since, _which, row in oldest[code]], len(h.escalated))


def _said(session: Session, flag_ids: list[int]) -> dict[int, tuple]:
    """Return what the lines of these flags print, by flag: rule, subject, message, and the
    person's name and restriction; a statement per thousand."""
    found: dict[int, tuple] = {}
    ids = sorted(flag_ids)
    for start in range(0, len(ids), 1000):
        for flag_id, *rest in snapshot.tuples(session, select(
                Flag.id, Flag.rule, Flag.subject, Flag.message,
                (Person.given_name + " " + Person.family_name).label("name"), Person.restricted)
                .join(Case, Case.id == Flag.case_id)
                .join(Person, Person.id == Case.person_id)
                .where(Flag.id.in_(ids[start:start + 1000]))):
            found[flag_id] = tuple(rest)
    return found


def _add_handoffs(digests: dict[str, Digest], facts: _Facts, day: date, lines: _Lines) -> None:
    for (case_id, kind, role, requested_on, due_on, reference, name, sender, receiver,
         restricted) in facts.handoffs:
        overdue = (day - due_on).days if due_on and due_on < day else 0
        told = [(digests[receiver].waiting, receiver)] if receiver in digests else []
        if overdue and sender in digests:
            told.append((digests[sender].overdue, sender))
        if not told:
            continue
        line = lines.of(case_id, reference, name, restricted)
        for items, code in told:
            items.append(HandoffItem(
                case=line(code), kind=kind, role=role, from_agency=sender, to_agency=receiver,
                requested_on=requested_on, due_on=due_on, days_overdue=overdue))


def _add_coming(session: Session, digests: dict[str, Digest], day: date,
                settings: AlertSettings, looked: Looked | None, lines: _Lines) -> None:
    """Add what the forecast of the next `coming_days` days would tell each agency."""
    # In the scan's unit of work, which has yet to commit: the forecast must not end it.
    ahead = forecast(session, day, days=settings.coming_days,
                     config=dict(settings.rule_config), in_transaction=True,
                     looked=looked).coming
    ids = list({c.finding.case_id for c in ahead})
    persons = {}
    for start in range(0, len(ids), 1000):
        persons.update({row[0]: row[1:] for row in session.execute(
            select(Case.id, Person.given_name + " " + Person.family_name, Person.restricted)
            .join(Person, Person.id == Case.person_id)
            .where(Case.id.in_(ids[start:start + 1000])))})
    for c in ahead:  # in order of day, then case
        f = c.finding
        line = None
        for code in dict.fromkeys(f.notify):
            digest = digests.get(code)
            if digest is None or f.severity not in digest.agency.alert_severities:
                continue
            line = line or lines.of(f.case_id, f.case, *persons[f.case_id])
            digest.coming.append(ComingItem(line(code), c.day, f.rule, f.severity, f.message))
