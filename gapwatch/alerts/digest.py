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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

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


@dataclass
class Digest:
    """One agency's digest for one day."""

    agency: Agency
    day: date
    new_flags: list[FlagItem] = field(default_factory=list)
    open_flags: list[FlagItem] = field(default_factory=list)
    waiting: list[HandoffItem] = field(default_factory=list)
    overdue: list[HandoffItem] = field(default_factory=list)
    escalation_emails: list[str] = field(default_factory=list)
    coming: list[ComingItem] = field(default_factory=list)
    coming_days: int = 0

    @cached_property
    def escalated(self) -> list[FlagItem]:
        """The flags to escalate, oldest first: read once the lists are complete (`gather`
        sorts them, then asks), since the mails' templates ask several times."""
        return sorted((f for f in self.new_flags + self.open_flags if f.escalated),
                      key=lambda f: f.since)

    @property
    def is_empty(self) -> bool:
        return not (self.new_flags or self.open_flags or self.waiting or self.overdue
                    or self.coming)


@dataclass
class _Facts:
    """The rows of one day, read once for every agency."""

    agencies: dict[str, Agency]
    flags: list[tuple]  # the flag's columns the digests print, its case's and person's
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
    facts.flags.sort(key=lambda f: (RANK_OF_SEVERITY.get(f[4], 9), f[6], f[9], f[0]))
    _add_flags(digests, facts, day, settings, lines)
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
    flags = [(*row[:6], d(row[6]), row[7], d(row[8]), *row[9:]) for row in snapshot.tuples(
        session,
        # `notify` as its text, decoded once per distinct list (`snapshot.Codes`).
        select(Flag.id, Flag.case_id, Flag.rule, Flag.subject, Flag.severity, Flag.message,
               Flag.since, cast(Flag.notify, Text), Flag.first_seen_on, Case.reference,
               (Person.given_name + " " + Person.family_name).label("name"), Person.restricted)
        .join(Case, Case.id == Flag.case_id)
        .join(Person, Person.id == Case.person_id)
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


def _add_flags(digests: dict[str, Digest], facts: _Facts, day: date, settings: AlertSettings,
               lines: _Lines) -> None:
    codes = snapshot.Codes()
    escalate = settings.escalate_after_days
    for (flag_id, case_id, rule, subject, severity, message, since, notify, first_seen_on,
         reference, name, restricted) in facts.flags:
        line = None
        open_for = days_open(since, day)
        said = facts.acks.get(flag_id, {})
        items: dict[tuple, FlagItem] = {}  # the same item for every agency that reads it alike
        for code in codes[notify]:
            digest = digests.get(code)
            if digest is None or severity not in digest.agency.alert_severities:
                continue
            until = said.get(code)
            if until is not None and until >= day:
                continue  # this agency asked for quiet until then; the others still hear
            # A snooze that has passed ends that agency's acknowledgement: it hears again.
            acknowledged = code in said and until is None
            line = line or lines.of(case_id, reference, name, restricted)
            case_line = line(code)
            item = items.get((id(case_line), acknowledged))
            if item is None:
                item = items[id(case_line), acknowledged] = FlagItem(
                    case=case_line, rule=rule, severity=severity, message=message, since=since,
                    days_open=open_for,
                    acknowledged=acknowledged,
                    # Escalate a flag open (not a condition begun) escalate_after_days ago,
                    # for each agency that has not said it is on it.
                    escalated=not acknowledged and (day - first_seen_on).days >= escalate,
                    subject=subject,
                )
            (digest.new_flags if first_seen_on == day else digest.open_flags).append(item)


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
