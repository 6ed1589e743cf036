"""Who may do what to a case: SPEC.md's "Who may do what", as one table of plain decisions.

Every operation asks here before it writes, and the pages and the API ask the same questions to
decide which steps to offer, so they cannot disagree. A decision is made on a case's journey as
it stands (`gapwatch.journey`), the acting agency and the day; nothing here reads the database
or knows about Flask. A refusal names its rule and says, for a person, why and what would do.

The acting side is anything with `agency` (a code, or None for the system operator and
administrators, who act for any agency but still never break the role table), `read_only`
(auditors) and `token` (an agency's system posting through the API).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from gapwatch.clock import long_day
from gapwatch.journey import ACCOUNTABLE, HandoffFacts, Journey, OwnershipFacts

# Which kinds of agency may hold which role; court, police and other hold none.
HOLDS = {
    "prison": frozenset({"custody"}),
    "probation": frozenset({"supervision"}),
    "youth": frozenset({"supervision"}),
    "provider": frozenset({"delivery"}),
}
KIND_NAMES = {"prison": "a prison", "probation": "a probation area", "youth": "a youth service",
              "provider": "a provider", "court": "a court", "police": "a police force",
              "other": "an agency of kind other"}
HOLDERS_OF = {"custody": "a prison", "supervision": "a probation area or a youth service",
              "delivery": "a provider"}


class Acting(Protocol):
    agency: str | None
    read_only: bool
    token: bool


@dataclass(frozen=True)
class Decision:
    """Yes, or no with the rule that refused and a reason written for the person asking."""

    allowed: bool
    rule: str
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def _yes(rule: str) -> Decision:
    return Decision(True, rule)


def _no(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


# -- the role table ---------------------------------------------------------------------------
def may_hold(agency: str, kind: str, role: str) -> Decision:
    """Whether an agency of `kind` may hold `role` at all (custody: prisons, and so on)."""
    if role in HOLDS.get(kind, ()):
        return _yes("role-table")
    return _no("role-table", f"{agency} is {KIND_NAMES.get(kind, kind)}: only "
                             f"{HOLDERS_OF.get(role, 'nobody')} can hold {role}")


# -- facts about the journey that decisions turn on -----------------------------------------------
def in_gap(journey: Journey, day: date) -> bool:
    """Whether the case is open on `day` and nobody holds custody or supervision."""
    return journey.case.is_open_on(day) and not journey.accountable_on(day)


def last_accountable(journey: Journey, day: date) -> set[str]:
    """Return the agencies whose accountable ownership ended last on or before `day`."""
    return {o.agency for o in journey.last_accountable(day)}


def holders(journey: Journey, day: date, *, accountable: bool | None = None) -> set[str]:
    """Return the agencies holding an ownership active on `day` (only accountable ones, or not)."""
    return {o.agency for o in journey.active_on(day)
            if accountable is None or o.accountable == accountable}


def _refuse_readers(actor: Acting, doing: str, rule: str) -> Decision | None:
    if actor.read_only:
        return _no(rule, f"you have read-only access and cannot {doing}")
    return None


def same_class(role_a: str, role_b: str) -> bool:
    """Custody and supervision answer for each other (accountable); delivery only for delivery."""
    return (role_a in ACCOUNTABLE) == (role_b in ACCOUNTABLE)


# -- the actions --------------------------------------------------------------------------------
def may_request(actor: Acting, journey: Journey, day: date, *, sender: str | None, role: str,
                kind: str, receiver: str, receiver_kind: str) -> Decision:
    """Ask `receiver` to take the case in `role`: a holder, or in a gap its last owner or home area."""
    rule = "request-handoff"
    refused = _refuse_readers(actor, "ask another agency to take a case", rule)
    if refused is not None:
        return refused
    if actor.agency is not None and actor.agency != sender:
        return _no(rule, f"you act for {actor.agency} and can ask only in its own name")
    fits = may_hold(receiver, receiver_kind, role)
    if not fits:
        return fits
    if sender is None:
        return _yes(rule)  # an intake, reported by the operator
    held = [o for o in journey.active_on(day) if o.agency == sender]
    reference = journey.case.reference
    if role == "custody" and not any(o.role == "custody" for o in held):
        return _no(rule, "custody is not asked for: a prison records a reception, and a prison "
                         "holding the person transfers them to another")
    if kind == "transfer":
        if any(same_class(o.role, role) for o in held):
            return _yes(rule)
        what = "accountable" if role in ACCOUNTABLE else "delivery"
        return _no(rule, f"{sender} cannot transfer case {reference}: it holds no {what} "
                         f"ownership of the case on {long_day(day)}")
    if role == "custody":
        return _no(rule, "a prison hands custody on by a transfer, not a referral")
    if any(o.accountable for o in held):
        return _yes(rule)  # the accountable owner refers: supervision on release, a service
    if role == "supervision" and in_gap(journey, day) and _speaks_for_gap(journey, day, sender):
        return _yes(rule)
    if held:
        return _no(rule, f"{sender} delivers a service for case {reference}; only the agency "
                         "accountable for the case can refer it on")
    return _no(rule, f"{sender} cannot refer case {reference}: it holds no ownership of the "
                     f"case on {long_day(day)} (in a gap, the last accountable owner and the home area "
                     "may ask an agency to supervise)")


def _speaks_for_gap(journey: Journey, day: date, agency: str) -> bool:
    return agency == journey.case.home_area or agency in last_accountable(journey, day)


def may_decide(actor: Acting, handoff: HandoffFacts, doing: str = "accept") -> Decision:
    """Accept or reject a pending handoff: the receiving agency only."""
    rule = f"{doing}-handoff"
    refused = _refuse_readers(actor, f"{doing} a handoff", rule)
    if refused is not None:
        return refused
    if actor.agency is not None and actor.agency != handoff.to_agency:
        return _no(rule, f"only {handoff.to_agency} can {doing} this handoff (it is the agency "
                         f"asked); you act for {actor.agency}")
    return _yes(rule)


def may_withdraw(actor: Acting, handoff: HandoffFacts) -> Decision:
    """Withdraw a pending handoff: the sender only."""
    rule = "withdraw-handoff"
    refused = _refuse_readers(actor, "withdraw a handoff", rule)
    if refused is not None:
        return refused
    if actor.agency is not None and actor.agency != handoff.from_agency:
        who = handoff.from_agency or "the operator (it was an intake)"
        return _no(rule, f"only {who} can withdraw this handoff (it asked); "
                         f"you act for {actor.agency}")
    return _yes(rule)


def may_take_supervision(actor: Acting, journey: Journey, day: date, *, agency: str, kind: str,
                         notified: Collection[str]) -> Decision:
    """Take supervision in a gap: the home area, or an agency told of the gap that may hold it."""
    rule = "take-supervision"
    refused = _refuse_readers(actor, "take a case", rule)
    if refused is not None:
        return refused
    if actor.agency is not None and actor.agency != agency:
        return _no(rule, f"you act for {actor.agency} and can take a case only for it")
    fits = may_hold(agency, kind, "supervision")
    if not fits:
        return fits
    if not in_gap(journey, day):
        owners = ", ".join(sorted(holders(journey, day, accountable=True))) or "nobody"
        return _no(rule, f"case {journey.case.reference} is not in a gap on {long_day(day)}: {owners} is "
                         "accountable; ask it to hand the case on instead")
    later = [o.starts_on for o in journey.ownerships
             if o.agency == agency and o.role == "supervision" and o.starts_on > day]
    if later:
        return _no(rule, f"{agency} already takes supervision of case {journey.case.reference} "
                         f"from {long_day(min(later))} (an accepted handoff): a second would overlap it")
    if agency == journey.case.home_area or agency in notified:
        return _yes(rule)
    return _no(rule, f"only the home area ({journey.case.home_area or 'none recorded'}) or an "
                     "agency told of the gap can take the case")


def may_start(actor: Acting, journey: Journey, day: date, *, agency: str, kind: str, role: str,
              notified: Collection[str] = ()) -> Decision:
    """Record that `agency` started `role` without a handoff: a fact an agency reports."""
    rule = "start-ownership"
    fits = may_hold(agency, kind, role)
    if not fits:
        return fits
    refused = _refuse_readers(actor, "start an ownership", rule)
    if refused is not None:
        return refused
    if actor.agency is None:
        return _yes(rule)  # the operator's import reports facts, odd journeys included
    if actor.agency != agency:
        return _no(rule, f"you act for {actor.agency} and cannot start an ownership for {agency}")
    if role == "custody":
        if actor.token and journey.case.restricted:
            return _no(rule, f"case {journey.case.reference} is of a restricted person: a "
                             "reception into custody is recorded by a person, not a system")
        return _yes(rule)  # a reception into prison is a fact the prison reports
    if role == "supervision":
        return may_take_supervision(actor, journey, day, agency=agency, kind=kind,
                                    notified=notified)
    return _no(rule, f"{agency} cannot start {role} of its own accord: the accountable owner "
                     "refers the case to a provider, and the provider accepts")


def self_started(actor: Acting, journey: Journey, day: date, agency: str) -> bool:
    """Whether an ownership `agency` starts now is one it gave itself outside a gap.

    Such an ownership (a prison's reception while an area supervises) does not open a
    restricted person's details to it (`may_open_details`).
    """
    return actor.agency == agency and not in_gap(journey, day)


def may_end(actor: Acting, journey: Journey, day: date, ownership: OwnershipFacts,
            doing: str = "end") -> Decision:
    """End an ownership, or name its officer: its holder; a delivery also by the accountable owner."""
    rule = "end-ownership" if doing == "end" else "assign-officer"
    what = "end an ownership" if doing == "end" else "name an officer"
    refused = _refuse_readers(actor, what, rule)
    if refused is not None:
        return refused
    if actor.agency is None or actor.agency == ownership.agency:
        return _yes(rule)
    if ownership.role == "delivery" and actor.agency in holders(journey, day, accountable=True):
        return _yes(rule)
    return _no(rule, f"only {ownership.agency}, which holds this {ownership.role}, can {what} "
                     f"for it; you act for {actor.agency}")


def may_close(actor: Acting, journey: Journey, day: date) -> Decision:
    """Close the case: an agency accountable for it on the day (or an administrator)."""
    rule = "close-case"
    refused = _refuse_readers(actor, "close a case", rule)
    if refused is not None:
        return refused
    if actor.agency is None:
        return _yes(rule)
    accountable = holders(journey, day, accountable=True)
    if actor.agency in accountable:
        return _yes(rule)
    owners = ", ".join(sorted(accountable)) or "nobody (the case is in a gap)"
    return _no(rule, f"only the agency accountable for case {journey.case.reference} can close "
                     f"it, and today that is {owners}")


def may_acknowledge(actor: Acting, notify: Collection[str]) -> Decision:
    """Acknowledge or snooze a flag: each agency it notifies, for itself only."""
    rule = "acknowledge-flag"
    refused = _refuse_readers(actor, "acknowledge flags", rule)
    if refused is not None:
        return refused
    if actor.agency is None:
        return _no(rule, "a flag is acknowledged by each agency it tells, for itself: sign in "
                         "as a case manager of that agency")
    if actor.agency in notify:
        return _yes(rule)
    told = ", ".join(notify) or "nobody"
    return _no(rule, f"this flag tells {told}; you act for {actor.agency}")


def may_link(actor: Acting, *, holds_a_case: bool, persons: str, day: date,
             doing: str = "link these records") -> Decision:
    """Link two person records, or decide a proposal about them: an administrator or the
    system, or an agency holding a case of either person on the day (`holds_a_case`)."""
    rule = "link-persons"
    refused = _refuse_readers(actor, doing, rule)
    if refused is not None:
        return refused
    if actor.agency is None or holds_a_case:
        return _yes(rule)
    return _no(rule, f"only an admin or an agency holding a case of {persons} can {doing}; "
                     f"{actor.agency} holds none on {long_day(day)}")


def may_save_person(actor: Acting, *, person: str, exists: bool, holds_a_case: bool,
                    has_a_case: bool = True, lifts_restriction: bool = False,
                    moves_home: bool = False, schemes: Collection[str] = ()
                    ) -> tuple[Decision, str | None]:
    """Create or change a person record, or its identifiers: an administrator or the system; an
    agency may register a new person, change one with no case yet (in nobody's journey), and
    change one with cases only while it holds an ownership of one of them (`holds_a_case`).
    Only an administrator lifts a restriction or moves an existing person's home area (the home
    area sees the person's cases and may take them in a gap), and an agency sets no other
    agency's local reference. Returns the decision and the field it is about."""
    rule = "save-person"
    refused = _refuse_readers(actor, "change a person's record", rule)
    if refused is not None:
        return refused, None
    if actor.agency is None:
        return _yes(rule), None
    for scheme in schemes:
        if scheme.startswith("local:") and scheme != f"local:{actor.agency}":
            return _no(rule, f"{actor.agency} may set its own local reference "
                             f"(local:{actor.agency}), not {scheme}"), f"identifiers.{scheme}"
    if not exists:
        return _yes(rule), None
    if has_a_case and not holds_a_case:
        return _no(rule, f"only an admin or an agency holding a case of person {person} today "
                         f"can change their record; {actor.agency} holds none"), "reference"
    if lifts_restriction:
        return _no(rule, f"person {person} is restricted: only an administrator can lift a "
                         "restriction"), "restricted"
    if moves_home:
        return _no(rule, f"only an administrator or the import can change person {person}'s "
                         "home area: it decides which agencies see their cases"), "home_area"
    return _yes(rule), None


def may_open_details(agency: str | None, journey: Journey, day: date, *,
                     auditor: bool = False) -> Decision:
    """Open a restricted person's details: auditors, and agencies holding an ownership today
    that they did not give themselves outside a gap. Administrators are not among them."""
    rule = "open-details"
    if not journey.case.restricted or auditor:
        return _yes(rule)
    if any(o.agency == agency and not o.self_started for o in journey.active_on(day)):
        return _yes(rule)
    return _no(rule, "the person is restricted: their details are for the agencies that own "
                     "the case today, and for auditors")


def may_see_contract(agency: str | None, *, provider: str, commissioner: str,
                     reader: bool = False) -> Decision:
    """See a contract's figures: its commissioner and its provider, and every reader of the
    whole region (auditors, among them a region's lead, and administrators).

    The provider sees its own contracts: every figure counts what it was itself a party to (its
    own deliveries, the referrals sent to it, the flags that told it), so nothing it was not
    already told, and a contract review is held with the provider on the same numbers. Another
    agency does not: how a commissioner's suppliers perform is not another area's business.
    """
    rule = "see-contract"
    if reader or (agency is not None and agency in (commissioner, provider)):
        return _yes(rule)
    return _no(rule, f"the figures of {provider}'s contract with {commissioner} are for "
                     f"{commissioner}, {provider}, auditors and admins; you act for "
                     f"{agency or 'no agency'}")


# -- what to offer ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offers:
    """The steps the authority table allows one actor on one case on one day: what pages show."""

    take: bool = False
    ask: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (role, kinds) the actor may request
    close: bool = False
    decide: frozenset[int] = frozenset()  # handoffs the actor may accept or reject
    withdraw: frozenset[int] = frozenset()
    end: frozenset[int] = frozenset()  # ownerships the actor may end or name an officer for

    @property
    def closes_gap(self) -> bool:
        return self.take or bool(self.ask)

    def home_to_ask(self, journey: Journey, agency: str | None) -> str | None:
        """Return the case's home area, when `agency` may ask it to take the case over by a
        transfer of supervision (a youth service at 18, a prison at a release); else None."""
        home = journey.case.home_area
        if agency is None or home in (None, agency):
            return None  # an admin names the sender in the case page's full form
        return home if "transfer" in dict(self.ask).get("supervision", ()) else None


def offers(actor: Acting, journey: Journey, day: date, *, kind: str | None,
           told: Collection[str] = ()) -> Offers:
    """Return every step `actor` (of agency kind `kind`) may take on `journey` on `day`."""
    if actor.read_only or not journey.case.is_open_on(day):
        return Offers()
    agency = actor.agency
    take = agency is not None and kind is not None and bool(
        may_take_supervision(actor, journey, day, agency=agency, kind=kind, notified=told))
    ask = []
    for role, receiver_kind in (("supervision", "probation"), ("custody", "prison"),
                                ("delivery", "provider")):
        kinds = tuple(k for k in ("transfer", "referral") if may_request(
            actor, journey, day, sender=agency, role=role, kind=k, receiver="",
            receiver_kind=receiver_kind))
        if kinds:
            ask.append((role, kinds))
    pending = journey.pending()
    return Offers(
        take=take,
        ask=tuple(ask),
        close=bool(may_close(actor, journey, day)),
        decide=frozenset(h.id for h in pending if may_decide(actor, h)),
        withdraw=frozenset(h.id for h in pending if may_withdraw(actor, h)),
        end=frozenset(o.id for o in journey.ownerships
                      if (o.ends_on is None or o.ends_on > day)
                      and may_end(actor, journey, day, o)),
    )
