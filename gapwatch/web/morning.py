"""The morning list: everything one agency must act on today, worst first, each with its next step.

An item is an open flag that tells the agency (and that it has not acknowledged), a handoff
waiting for its decision that is not yet late (a late one is a `handoff-overdue` flag; one
asked to end a gap is decided from the gap's flag), or an
ownership of its own still without an officer but not yet past the allocation limit (past it,
an `unallocated` flag). Flags come first, most severe then longest open; then the routine
handoffs, soonest due; then the officers to name. Each item's next step is one the authority
table allows this user on this case today (`gapwatch.authority.offers`), asked per case of the
list's journeys, read in three queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select, union_all
from sqlmodel import Session

from gapwatch import authority
from gapwatch.clock import long_day
from gapwatch.config import Defaults
from gapwatch.journey import HandoffFacts
from gapwatch.models import (
    ACCOUNTABLE_ROLES,
    Agency,
    Case,
    Handoff,
    HandoffStatus,
    Ownership,
    Person,
    active_on,
)
from gapwatch.queries import load_journeys
from gapwatch.rules import days_open
from gapwatch.web import queues

LIMIT = queues.PAGE_SIZE


@dataclass(frozen=True)
class Step:
    """What the agency should do next about one item: an inline form, or a place on the case page."""

    action: str  # take, decide, officer or look
    label: str
    anchor: str = ""  # where on the case page
    target: int | None = None  # the handoff or ownership it acts on


@dataclass
class Item:
    severity: str | None  # None: routine, not (yet) a flag
    what: str
    when: str  # how late or how long
    row: object  # the case and person columns
    step: Step
    flag_id: int | None = None
    acks: list = field(default_factory=list)

    @property
    def case_id(self) -> int:
        return self.row.case_id


@dataclass(frozen=True)
class Morning:
    items: list[Item]
    more_flags: bool

    @property
    def restricted_case_ids(self) -> list[int]:
        return [i.case_id for i in self.items if i.row.restricted]


def _target(subject: str, prefix: str) -> int | None:
    kind, _, rest = subject.partition(":")
    return int(rest) if kind == prefix and rest.isdigit() else None


LOOK = Step("look", "Review the journey and acknowledge", "journey-h")


def next_step(rule: str, subject: str, offers: authority.Offers,
              in_hand: Sequence[HandoffFacts] = (), home: str | None = None,
              agency: str | None = None) -> Step:
    """Return the step that would resolve a flag of `rule`, as far as `offers` allows.

    For a gap, `in_hand` is what is under way to end it (`Journey.in_hand`): a request to
    answer or chase comes before asking anyone again. For a gap to come, `home` is the home
    area the user may ask to take the case over (`Offers.home_to_ask`): the case page asks it
    in one step by the flag. `agency` is the user's, named "you" in the words.
    """
    if rule == "no-accountable-owner":
        for h in in_hand:
            if h.id in offers.decide:
                return Step("decide", "Accept or reject", f"handoff-{h.id}", h.id)
        if in_hand:
            h = in_hand[0]
            said = (f"Waiting for {h.to_agency}, asked {long_day(h.requested_on)}"
                    if h.status == "pending" else
                    f"You take it from {long_day(h.effective_on)}" if h.to_agency == agency else
                    f"{h.to_agency} takes it from {long_day(h.effective_on)}")
            return Step("look", said, "close-gap")
        if offers.take:
            return Step("take", "Take supervision", "close-gap")
        if offers.ask:
            return Step("look", "Ask an agency to take the case", "hand-on")
    elif rule == "handoff-overdue":
        handoff = _target(subject, "handoff")
        if handoff in offers.decide:
            return Step("decide", "Accept or reject", f"handoff-{handoff}", handoff)
        if handoff in offers.withdraw:
            return Step("look", "Chase or withdraw the request", f"handoff-{handoff}", handoff)
    elif rule == "unallocated":
        ownership = _target(subject, "ownership")
        if ownership in offers.end:
            return Step("officer", "Name an officer", f"ownership-{ownership}", ownership)
    elif rule in ("release-unplanned", "age-transition") and home is not None:
        return Step("look", f"Ask {home} to take supervision", "close-gap")
    elif rule in ("release-unplanned", "age-transition") and offers.ask:
        label = ("Ask the home area to supervise" if rule == "release-unplanned"
                 else "Refer to an adult service")
        return Step("look", label, "hand-on")
    elif rule in ("contract-lapsed", "contract-ending"):
        ownership = _target(subject, "delivery")
        if ownership in offers.end:
            label = ("End or hand on the delivery" if rule == "contract-lapsed"
                     else "Renew the contract, or end or hand on the delivery")
            return Step("look", label, f"ownership-{ownership}", ownership)
    return LOOK


def build(session: Session, scope: queues.Scope, today: date, actor, kind: str | None,
          allocation_days: int = Defaults.RULE_ALLOCATION_DAYS, text: str | None = None,
          flags: queues.Page | None = None) -> Morning:
    """Return the morning list of the one agency in `scope`, as `actor` may act on it.

    `text` keeps the items whose case reference or person's name contains it, as the queues'
    filter does. `flags` is the first page of the open flags so filtered, when the caller has
    read it already.
    """
    if flags is None:
        flags = queues.flags(session, scope, today, text=text)
    waiting = _waiting(session, scope, today, text)
    officers = _to_allocate(session, scope, today, allocation_days, text)
    case_ids = {r.case_id for r in [*flags.rows, *waiting, *officers]}
    journeys = load_journeys(session, case_ids)
    told = {r.case_id: r.notify for r in flags.rows if r.rule == "no-accountable-owner"}
    offers = {case_id: authority.offers(actor, journey, today, kind=kind,
                                        told=told.get(case_id, ()))
              for case_id, journey in journeys.items()}
    items = []
    for f in flags.rows:
        days = days_open(f.since, today)
        journey, offered = journeys[f.case_id], offers[f.case_id]
        in_hand = journey.in_hand(today) if f.rule == "no-accountable-owner" else ()
        step = next_step(f.rule, f.subject, offered, in_hand,
                         offered.home_to_ask(journey, actor.agency), actor.agency)
        items.append(Item(f.severity, f"{f.rule}: {f.message}",
                          "since today" if days == 0 else f"{days} day{'s' * (days != 1)}",
                          f, step, f.id, flags.acks.get(f.id, [])))
    deciding = {i.step.target for i in items if i.step.action == "decide"}
    for h in waiting:
        if h.id in deciding:  # a request to end a gap: its flag's item decides it
            continue
        due = "no due day" if h.due_on is None else (
            "due today" if h.due_on == today else f"due in {(h.due_on - today).days} days")
        step = (Step("decide", "Accept or reject", f"handoff-{h.id}", h.id)
                if h.id in offers[h.case_id].decide else Step("look", "Open the case"))
        # A request to end a gap this agency is not told of (not the home area, nor a last
        # owner) says so: it is no routine handoff.
        journey = journeys[h.case_id]
        gap = ""
        if authority.in_gap(journey, today):
            # Its cover ends when an agency that accepted the case from a later day takes over.
            coming = journey.taking_over(today)
            gap = (" to end a gap: nobody is accountable for this person" if not coming else
                   f" to cover a gap until {coming[0].to_agency} takes over on "
                   f"{long_day(coming[0].effective_on)}: nobody is accountable until then")
        items.append(Item(None, f"{h.from_agency or 'An intake'} asks you to take {h.role} "
                                f"({h.kind}){gap}", due, h, step))
    for o in officers:
        days = (today - o.starts_on).days
        step = (Step("officer", "Name an officer", f"ownership-{o.id}", o.id)
                if o.id in offers[o.case_id].end else Step("look", "Open the case"))
        items.append(Item(None, f"{o.role} without an officer", f"{days} days", o, step))
    return Morning(items, flags.more)


def _matching(text: str | None) -> list:
    matching = queues.matching(text)
    return [] if matching is None else [matching]


def _waiting(session: Session, scope: queues.Scope, today: date, text: str | None) -> list:
    sender = queues.SENDER
    waiting = (Handoff.status == HandoffStatus.pending, scope.has(Handoff.to_agency_id))
    query = (
        select(Handoff.id, Handoff.kind, Handoff.role, Handoff.due_on,
               sender.code.label("from_agency"), *queues.person_columns())
        .join(Case, Case.id == Handoff.case_id).join(Person, Person.id == Case.person_id)
        .outerjoin(sender, sender.id == Handoff.from_agency_id)
    )
    if text is None:
        # The first due today or later, then the first with no due day: two walks of the index
        # ix_handoff_pending_to, where one with `due_on IS NULL OR ...` would step over every
        # overdue handoff (thousands for a busy area) to find twenty.
        parts = [select(Handoff.id, Handoff.due_on).where(*waiting, when)
                 .order_by(Handoff.due_on, Handoff.id).limit(LIMIT).subquery()
                 for when in (Handoff.due_on >= today, Handoff.due_on.is_(None))]
        picked = union_all(*(select(part.c.id) for part in parts)).subquery()
        query = query.join(picked, picked.c.id == Handoff.id)
    else:
        query = query.where(*waiting, or_(Handoff.due_on.is_(None), Handoff.due_on >= today),
                            *_matching(text))
    return session.execute(query.order_by(*queues.HANDOFF_ORDER).limit(LIMIT)).all()


def _to_allocate(session: Session, scope: queues.Scope, today: date, allocation_days: int,
                 text: str | None) -> list:
    return session.execute(
        select(Ownership.id, Ownership.role, Ownership.starts_on, Agency.code.label("agency"),
               *queues.person_columns())
        .join(Agency, Agency.id == Ownership.agency_id)
        .join(Case, Case.id == Ownership.case_id).join(Person, Person.id == Case.person_id)
        .where(Ownership.role.in_(sorted(ACCOUNTABLE_ROLES)), Ownership.officer.is_(None),
               active_on(today), scope.has(Ownership.agency_id),
               Ownership.starts_on > today - timedelta(days=allocation_days), *_matching(text))
        .order_by(Ownership.starts_on, Ownership.id).limit(LIMIT)
    ).all()
