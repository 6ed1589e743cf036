"""A case's journey as a graph: ownerships are its nodes, handoffs its edges.

Plain Python and networkx, nothing from Flask or the database: the rule engine, the timeline
picture and the exports build `Journey` objects from rows they read in bulk. A journey answers
who is accountable on a day, where the owner-less gaps are, and what it looked like at the end
of any earlier day (`as_of`), with everything dated later left out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

ACCOUNTABLE = frozenset({"custody", "supervision"})


@dataclass(frozen=True, slots=True)
class Twin:
    """An open proposal that the case's person may be `person` too."""

    proposal: int
    person: str
    probability: float
    proposed_on: date
    restricted: bool = False  # the other record's person: their reference is then a detail
    person_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    id: int
    reference: str
    opened_on: date
    closed_on: date | None
    risk_level: str
    expected_release_on: date | None
    date_of_birth: date
    home_area: str | None
    restricted: bool = False
    person: str = ""
    # Linked records (`gapwatch.linked`): the other cases read into this journey, or the case
    # whose journey this one is read into, and the open proposals that this person is another.
    linked: tuple[str, ...] = ()
    linked_into: str | None = None
    twins: tuple[Twin, ...] = ()

    def is_open_on(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day < self.closed_on)


@dataclass(frozen=True, slots=True)
class OwnershipFacts:
    """One agency's responsibility over the half-open day range `[starts_on, ends_on)`."""

    id: int
    agency: str
    agency_kind: str
    role: str
    starts_on: date
    ends_on: date | None
    officer: str | None = None
    allocated_on: date | None = None
    handoff_id: int | None = None
    self_started: bool = False

    @property
    def accountable(self) -> bool:
        return self.role in ACCOUNTABLE

    @property
    def covers_a_day(self) -> bool:
        """Whether the range holds a day: one that starts and ends on the same day covers none."""
        return self.ends_on is None or self.starts_on < self.ends_on

    def is_active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)


@dataclass(frozen=True, slots=True)
class HandoffFacts:
    id: int
    kind: str
    role: str
    from_agency: str | None
    to_agency: str
    requested_on: date
    due_on: date | None
    status: str
    decided_on: date | None
    reason: str | None = None
    to_agency_kind: str = ""

    @property
    def effective_on(self) -> date | None:
        """The day an accepted handoff took effect: `max(decided_on, due_on or decided_on)`."""
        if self.status != "accepted" or self.decided_on is None:
            return None
        return max(self.decided_on, self.due_on or self.decided_on)


@dataclass(frozen=True, slots=True)
class Gap:
    """Days `[starts_on, ends_on)` on which nobody was accountable (`ends_on` None: still open)."""

    starts_on: date
    ends_on: date | None

    def days(self, until: date) -> int:
        return ((self.ends_on or until) - self.starts_on).days


class Journey:
    def __init__(
        self,
        case: CaseFacts,
        ownerships: list[OwnershipFacts] | tuple[OwnershipFacts, ...],
        handoffs: list[HandoffFacts] | tuple[HandoffFacts, ...],
    ):
        self.case = case
        self.ownerships = tuple(sorted(ownerships, key=lambda o: (o.starts_on, o.id)))
        self.handoffs = tuple(sorted(handoffs, key=lambda h: (h.requested_on, h.id)))

    def __repr__(self) -> str:
        return f"<Journey {self.case.reference}: {len(self.ownerships)} ownerships>"

    # -- the journey as it stood --------------------------------------------------------
    def as_of(self, day: date) -> Journey:
        """Return the journey as it stood at the end of `day`: later events have not happened."""
        case = self.case
        if case.closed_on is not None and case.closed_on > day:
            case = replace(case, closed_on=None)
        ownerships = []
        for o in self.ownerships:
            if o.starts_on > day:
                continue
            if o.ends_on is not None and o.ends_on > day:
                o = replace(o, ends_on=None)
            if o.allocated_on is not None and o.allocated_on > day:
                o = replace(o, officer=None, allocated_on=None)
            ownerships.append(o)
        handoffs = []
        for h in self.handoffs:
            if h.requested_on > day:
                continue
            if h.decided_on is not None and h.decided_on > day:
                h = replace(h, status="pending", decided_on=None, reason=None)
            handoffs.append(h)
        return Journey(case, ownerships, handoffs)

    # -- who is responsible -------------------------------------------------------------
    def active_on(self, day: date, *, roles: frozenset[str] | None = None) -> list[OwnershipFacts]:
        return [
            o for o in self.ownerships if o.is_active_on(day) and (roles is None or o.role in roles)
        ]

    def owned_by(self, agency: str | None, day: date) -> bool:
        """Whether `agency` holds an ownership of any role in the case on `day`."""
        return any(o.agency == agency for o in self.active_on(day))

    def accountable_on(self, day: date) -> list[OwnershipFacts]:
        """Return the custody and supervision ownerships active on `day`."""
        return self.active_on(day, roles=ACCOUNTABLE)

    def last_accountable(self, day: date) -> list[OwnershipFacts]:
        """Return the accountable ownerships that ended on the latest end day on or before `day`.

        Several end together when, say, a prison's custody and an area's supervision both end
        on the day of release; an ownership that covered no day was never accountable.
        """
        ended = [
            o for o in self.ownerships
            if o.accountable and o.covers_a_day and o.ends_on is not None and o.ends_on <= day
        ]
        last = max((o.ends_on for o in ended), default=None)
        return [o for o in ended if o.ends_on == last]

    def gaps(self, start: date, end: date) -> list[Gap]:
        """Return the owner-less intervals within `[start, end)`, clipped to the open case."""
        start = max(start, self.case.opened_on)
        if self.case.closed_on is not None:
            end = min(end, self.case.closed_on)
        if start >= end:
            return []
        covered = sorted(
            (max(o.starts_on, start), min(o.ends_on or end, end))
            for o in self.ownerships
            if o.accountable and o.covers_a_day
            and o.starts_on < end and (o.ends_on is None or o.ends_on > start)
        )
        gaps, cursor = [], start
        for begin, finish in covered:
            if begin > cursor:
                gaps.append(Gap(cursor, begin))
            cursor = max(cursor, finish)
        if cursor < end:
            gaps.append(Gap(cursor, end))
        return gaps

    def pending(self) -> list[HandoffFacts]:
        return [h for h in self.handoffs if h.status == "pending"]

    def taking_over(self, day: date) -> list[HandoffFacts]:
        """Return the accepted custody and supervision handoffs that take effect after `day`."""
        return [h for h in self.handoffs
                if h.role in ACCOUNTABLE and h.effective_on is not None and h.effective_on > day]

    def in_hand(self, day: date) -> list[HandoffFacts]:
        """Return what is under way to end a gap on `day`: the custody and supervision handoffs
        pending, then those accepted that take effect after `day`."""
        return [*(h for h in self.pending() if h.role in ACCOUNTABLE), *self.taking_over(day)]

    # -- the graph ------------------------------------------------------------------------
    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """Ownerships as nodes, handoffs as edges from the sender's ownership to what it led to.

        An accepted handoff points at the ownership it started; one still pending, rejected or
        withdrawn points at a node standing for the request. Intakes start from a node
        `("intake", case reference)`.
        """
        import networkx as nx  # noqa: PLC0415 (a quarter of a second: only its callers pay it)

        graph = nx.MultiDiGraph(case=self.case.reference)
        for o in self.ownerships:
            graph.add_node(("ownership", o.id), facts=o, agency=o.agency, role=o.role)
        started_by = {o.handoff_id: o for o in self.ownerships if o.handoff_id is not None}
        for h in self.handoffs:
            source = self._sender_node(h)
            target_ownership = started_by.get(h.id)
            if target_ownership is not None:
                target = ("ownership", target_ownership.id)
            else:
                target = ("request", h.id)
                graph.add_node(target, agency=h.to_agency, role=h.role, status=h.status)
            if source not in graph:
                graph.add_node(source, agency=h.from_agency)
            graph.add_edge(source, target, key=h.id, facts=h, status=h.status, kind=h.kind)
        return graph

    def _sender_node(self, h: HandoffFacts) -> tuple:
        if h.from_agency is None:
            return ("intake", self.case.reference)
        held = [
            o
            for o in self.ownerships
            if o.agency == h.from_agency and o.starts_on <= h.requested_on
        ]
        active = [o for o in held if o.ends_on is None or h.requested_on < o.ends_on] or held
        if not active:
            return ("agency", h.from_agency)
        return ("ownership", max(active, key=lambda o: (o.role == h.role, o.starts_on)).id)

    def agencies(self) -> list[str]:
        """Return the agencies of the journey in the order they first appear."""
        seen: dict[str, None] = {}
        events = [(o.starts_on, 0, o.agency) for o in self.ownerships]
        for h in self.handoffs:
            if h.from_agency:
                events.append((h.requested_on, 1, h.from_agency))
            events.append((h.requested_on, 2, h.to_agency))
        for _day, _order, agency in sorted(events):
            seen.setdefault(agency, None)
        return list(seen)
