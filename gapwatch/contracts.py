"""The commissioner's view of each contract: monthly figures of what the provider delivered.

For each contract (provider, commissioner, service, starts_on) and each calendar month of a date
range, as the journeys and flags stood at the end of the day `as_of`:

- `cases_delivered`: cases with a `delivery` ownership of the provider under the contract
  (the commissioner referred the case, or held custody or supervision of it while the provider
  delivered) active on a day of the month the contract covers;
- `referrals_made`: handoffs from the commissioner to the provider in role `delivery` requested
  in the month while the contract covered that day; of those, `referrals_accepted`,
  `referrals_rejected` and `referrals_unanswered` (still pending on `as_of`), and
  `median_days_to_answer` (from request to decision, accepted or rejected; empty when none);
- `delivery_days_past_end`: days of the month, after the contract's last day and up to `as_of`,
  on which such a delivery ownership was active and no contract of the provider with the
  commissioner covered the day (a lapsed service nobody is paying for);
- `flags_raised`: flags first seen in the month on the provider's side (`contract-lapsed`,
  `contract-ending`, `handoff-overdue` of a handoff to the provider, `ping-pong` involving it),
  telling both the provider and the commissioner, and `median_days_open` (to their resolution,
  or to `as_of` while open).

A provider with two contracts with the same commissioner at once (two services) counts a case
or a referral under each, since a handoff does not name its service. The figures are counts:
no person is named, so restricted persons' details cannot leak through them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import Session

from gapwatch import clock, db, snapshot
from gapwatch.journey import ACCOUNTABLE
from gapwatch.models import Flag, Handoff, Ownership
from gapwatch.rules import Contract

COLUMNS = ("provider", "commissioner", "service", "contract_starts_on", "contract_ends_on",
           "month", "cases_delivered", "referrals_made", "referrals_accepted",
           "referrals_rejected", "referrals_unanswered", "median_days_to_answer",
           "delivery_days_past_end", "flags_raised", "median_days_open")
PROVIDER_SIDE = frozenset({"contract-lapsed", "contract-ending", "handoff-overdue", "ping-pong"})
ONE_DAY = timedelta(days=1)


@dataclass
class Month:
    contract: Contract
    first: date
    cases: set
    made: int = 0
    accepted: int = 0
    rejected: int = 0
    unanswered: int = 0
    answer_days: list | None = None
    days_past_end: int = 0
    flags: int = 0
    open_days: list | None = None

    def row(self) -> dict:
        c = self.contract
        return {
            "provider": c.provider, "commissioner": c.commissioner, "service": c.service,
            "contract_starts_on": c.starts_on.isoformat(),
            "contract_ends_on": c.ends_on.isoformat() if c.ends_on else "",
            "month": self.first.strftime("%Y-%m"), "cases_delivered": len(self.cases),
            "referrals_made": self.made, "referrals_accepted": self.accepted,
            "referrals_rejected": self.rejected, "referrals_unanswered": self.unanswered,
            "median_days_to_answer": _median(self.answer_days),
            "delivery_days_past_end": self.days_past_end, "flags_raised": self.flags,
            "median_days_open": _median(self.open_days),
        }


def _median(values: list | None):
    return "" if not values else round(median(values), 1)


def months(first: date, last: date) -> list[date]:
    """Return the first day of every calendar month that meets `[first, last]`."""
    found, on = [], first.replace(day=1)
    while on <= last:
        found.append(on)
        on = (on + timedelta(days=32)).replace(day=1)
    return found


def _month_end(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1) - ONE_DAY


def _days(first: date, last: date):
    on = first
    while on <= last:
        yield on
        on += ONE_DAY


def _rows(session: Session, as_of: date, known: dict, providers: set[str]):
    """Return the delivery ownerships, the referrals to `providers`, the accountable ownerships
    of their cases, and the flags, as they stood at the end of `as_of`."""
    code = {i: c for i, (c, _k) in known.items()}
    run = session.connection().execute
    deliveries = [
        (r.case_id, code[r.agency_id], r.starts_on,
         r.ends_on if r.ends_on is not None and r.ends_on <= as_of else None, r.handoff_id)
        for r in run(select(Ownership.case_id, Ownership.agency_id, Ownership.starts_on,
                            Ownership.ends_on, Ownership.handoff_id)
                     .where(Ownership.role == "delivery", Ownership.starts_on <= as_of))
        if code[r.agency_id] in providers
    ]
    cases = {d[0] for d in deliveries}
    accountable = defaultdict(list)
    for r in run(select(Ownership.case_id, Ownership.agency_id, Ownership.starts_on,
                        Ownership.ends_on)
                 .where(Ownership.role.in_(ACCOUNTABLE), Ownership.starts_on <= as_of)):
        if r.case_id in cases:
            ends = r.ends_on if r.ends_on is not None and r.ends_on <= as_of else None
            accountable[r.case_id].append((code[r.agency_id], r.starts_on, ends))
    referrals = []
    for r in run(select(Handoff.id, Handoff.from_agency_id, Handoff.to_agency_id,
                        Handoff.requested_on, Handoff.status, Handoff.decided_on)
                 .where(Handoff.role == "delivery", Handoff.requested_on <= as_of,
                        Handoff.from_agency_id.is_not(None))):
        if code[r.to_agency_id] not in providers:
            continue
        decided = r.decided_on is not None and r.decided_on <= as_of
        referrals.append((r.id, code[r.from_agency_id], code[r.to_agency_id], r.requested_on,
                          r.status if decided else "pending", r.decided_on if decided else None))
    flags = run(select(Flag.rule, Flag.notify, Flag.first_seen_on, Flag.resolved_on)
                .where(Flag.rule.in_(PROVIDER_SIDE), Flag.first_seen_on <= as_of)).all()
    return deliveries, accountable, referrals, flags


def _under(contract: Contract, delivery, accountable, senders) -> bool:
    """Tell whether a delivery ownership of the contract's provider was for its commissioner."""
    case_id, _provider, starts, ends, handoff_id = delivery
    if senders.get(handoff_id) == contract.commissioner:
        return True
    return any(agency == contract.commissioner and begin < (ends or date.max)
               and (stop is None or stop > starts)
               for agency, begin, stop in accountable.get(case_id, ()))


def default_first(last: date) -> date:
    """Return the first day of a report ending on `last` when none is given: twelve months."""
    return (last.replace(day=1) - timedelta(days=335)).replace(day=1)


def figures(session: Session, first: date, last: date, *, as_of: date,
            commissioner: str | None = None, contract: Contract | None = None) -> list[Month]:
    """Return each contract's monthly figures for the months of `[first, last]`, as of `as_of`
    (only `commissioner`'s contracts, or only `contract`, when given)."""
    known = snapshot.agencies(session)
    by_provider = snapshot.contracts(session, known)
    contracts = sorted(
        (c for items in by_provider.values() for c in items
         if (commissioner is None or c.commissioner == commissioner)
         and (contract is None or _same(c, contract)) and c.starts_on <= last),
        key=lambda c: (c.provider, c.commissioner, c.service, c.starts_on))
    providers = {c.provider for c in contracts}
    deliveries, accountable, referrals, flags = _rows(session, as_of, known, providers)
    session.rollback()
    senders = {r[0]: r[1] for r in referrals}
    result = []
    for contract in contracts:
        pair = [c for c in by_provider[contract.provider] if c.commissioner == contract.commissioner]
        mine = [d for d in deliveries if d[1] == contract.provider
                and _under(contract, d, accountable, senders)]
        for month_first in months(first, last):
            month = Month(contract, month_first, set(), answer_days=[], open_days=[])
            start, end = max(month_first, first), min(_month_end(month_first), last)
            _deliveries(month, mine, pair, start, end, as_of)
            _referrals(month, referrals, start, end, as_of)
            _flags(month, flags, start, end, as_of)
            result.append(month)
    return result


def _same(a: Contract, b: Contract) -> bool:
    """A contract is identified by (provider, commissioner, service, starts_on) (SPEC.md)."""
    return ((a.provider, a.commissioner, a.service, a.starts_on)
            == (b.provider, b.commissioner, b.service, b.starts_on))


def _deliveries(month: Month, mine, pair, start: date, end: date, as_of: date) -> None:
    c = month.contract
    for case_id, _p, begins, ends, _h in mine:
        active_from, active_to = max(begins, start), min((ends or date.max) - ONE_DAY, end)
        if active_from > active_to:
            continue
        if c.starts_on <= active_to and (c.ends_on is None or c.ends_on >= active_from):
            month.cases.add(case_id)
        if c.ends_on is not None:
            for day in _days(max(active_from, c.ends_on + ONE_DAY), min(active_to, as_of)):
                if not any(other.covers(day) for other in pair):
                    month.days_past_end += 1


def _referrals(month: Month, referrals, start: date, end: date, as_of: date) -> None:
    c = month.contract
    for _id, sender, provider, asked, status, decided in referrals:
        if (sender, provider) != (c.commissioner, c.provider) or not start <= asked <= end:
            continue
        if not c.covers(asked):
            continue
        month.made += 1
        if status == "pending":
            month.unanswered += 1
        elif status in ("accepted", "rejected"):
            setattr(month, status, getattr(month, status) + 1)
            month.answer_days.append((decided - asked).days)


def _flags(month: Month, flags, start: date, end: date, as_of: date) -> None:
    c = month.contract
    for _rule, notify, seen, resolved in flags:
        if not start <= seen <= end or c.provider not in notify or c.commissioner not in notify:
            continue
        if not c.covers(seen) and not (c.ends_on is not None and seen > c.ends_on):
            continue
        month.flags += 1
        closed = resolved if resolved is not None and resolved <= as_of else as_of
        month.open_days.append((closed - seen).days)


def as_csv(rows: list[Month]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for month in rows:
        writer.writerow(month.row())
    return out.getvalue()


@click.group("contracts")
def contracts_group():
    """The commissioners' contracts."""


@contracts_group.command("report")
@click.option("--commissioner", default=None, metavar="CODE", help="Only this commissioner's.")
@click.option("--from", "first", default=None, metavar="YYYY-MM-DD",
              help="First day (default: the first day of the month a year before --to).")
@click.option("--to", "last", default=None, metavar="YYYY-MM-DD", help="Last day (default: as of).")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
              help="As the records stood at the end of this day (default: today).")
@click.option("--format", "fmt", type=click.Choice(["csv", "pdf"]), default="csv",
              show_default=True)
@click.option("-o", "output", type=click.Path(dir_okay=False), default=None,
              help="Write here (default: standard output; a PDF needs -o).")
@with_appcontext
def report_command(commissioner, first, last, as_of, fmt, output):
    """Write each contract's monthly figures as CSV or PDF."""
    from gapwatch.cli import fail, parse_day

    as_of = parse_day(None, None, as_of) or clock.today()
    last = parse_day(None, None, last) or as_of
    first = parse_day(None, None, first) or default_first(last)
    if first > last:
        fail(f"--from {first} is after --to {last}: give a range that runs forwards")
    session = db.new_session(db.get_engine())
    try:
        if commissioner is not None and commissioner not in {
                c for c, _k in snapshot.agencies(session).values()}:
            fail(f"--commissioner {commissioner}: no agency has that code")
        rows = figures(session, first, last, as_of=as_of, commissioner=commissioner)
    finally:
        session.close()
    if fmt == "pdf":
        from gapwatch.contracts_pdf import render_pdf

        if output is None:
            fail("a PDF report needs -o PATH")
        with open(output, "wb") as out:
            out.write(render_pdf(rows, first, last, as_of, commissioner))
        return
    text = as_csv(rows)
    if output is None:
        click.echo(text, nl=False)
    else:
        with open(output, "w", newline="") as out:
            out.write(text)
