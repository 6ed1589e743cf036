"""Contract ending: a provider's contract ends soon while it still delivers for the person.

Fires on day `d` while a `delivery` ownership is active, a contract of that provider with the
case's accountable owner (with none, with any commissioner) covers `d`, and the cover ends within
`contract_warning_days` (30) of `d`: its last day is `d` through `d + 30`, following a renewal
that starts by the day after. So it fires from 30 days before the contract's last day through
that last day itself; the day after, `contract-lapsed` takes over. The commissioner has time to
renew the contract or to hand the person on; a renewal recorded in time stops the flag. The flag
is about that delivery ownership.

- **Severity**: `medium`; `high` within 7 days of the last day (from `last - 7`).
- **Tells**: the commissioner(s) of the ending contract and the provider.
"""

from __future__ import annotations

from datetime import date, timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Contract, Found, rule, turns

DELIVERY = frozenset({"delivery"})
HIGH_WITHIN_DAYS = 7


def cover_ends(contracts: list[Contract], day: date) -> tuple[date | None, list[Contract]]:
    """Return the last day of the unbroken cover that `contracts` give from `day` (None: no
    end) and the contracts covering `day`."""
    covering = [c for c in contracts if c.covers(day)]
    last, on = None, day
    while True:
        now = [c for c in contracts if c.covers(on)]
        if not now:
            return last, covering
        if any(c.ends_on is None for c in now):
            return None, covering
        last = max(c.ends_on for c in now)
        on = last + timedelta(days=1)


def _relevant(journey: Journey, context: Context, provider: str, day: date) -> list[Contract]:
    owners = {o.agency for o in journey.accountable_on(day)}
    return [c for c in context.contracts_of(provider) if not owners or c.commissioner in owners]


def live_contracts(journey: Journey, context: Context) -> list[Contract]:
    """Return the contracts whose days can change a delivery's findings from `context.day` to
    the journey's next own day: those of the providers delivering on the day, with its
    accountable owners (with none, with any commissioner). An ownership starting or ending is
    one of the journey's own days, on which every rule is read again, so no other contract can
    matter before then. (Every contract of every provider that ever delivered for the person,
    with any commissioner, made nine in ten of the 26,676 cases a 500,000-case region read on
    one day turn on a contract that had nothing to do with them.)"""
    found: dict[int, Contract] = {}
    for delivery in journey.active_on(context.day, roles=DELIVERY):
        for contract in _relevant(journey, context, delivery.agency, context.day):
            found.setdefault(id(contract), contract)
    return list(found.values())


@rule("contract-ending", "A provider's contract ends soon while it delivers",
      contract_warning_days=30)
def contract_ending(journey: Journey, context: Context, *, contract_warning_days: int):
    day = context.day
    for delivery in journey.active_on(day, roles=DELIVERY):
        last, covering = cover_ends(_relevant(journey, context, delivery.agency, day), day)
        if not covering or last is None or (last - day).days > contract_warning_days:
            continue
        buyers = tuple(dict.fromkeys(c.commissioner for c in covering))
        yield Found(
            subject=f"delivery:{delivery.id}",
            severity="high" if (last - day).days <= HIGH_WITHIN_DAYS else "medium",
            since=max(delivery.starts_on, last - timedelta(days=contract_warning_days)),
            notify=(*buyers, delivery.agency),
            message=(
                f"{delivery.agency}'s contract with {' and '.join(buyers)} ends on {clock.long_day(last)} and "
                f"{delivery.agency} still delivers for this person: renew it or hand them on."
            ),
            evidence={
                "delivery_ownership": delivery.id,
                "provider": delivery.agency,
                "commissioners": list(buyers),
                "contract_ends_on": last,
            },
        )


@turns(contract_ending)
def contract_ending_turns(journey: Journey, context: Context, *, contract_warning_days: int):
    """A contract's warning opens 30 days before its last day, turns high 7 days before it,
    and closes the day after it; a contract starting changes the cover."""
    warning = timedelta(days=contract_warning_days)
    for contract in live_contracts(journey, context):
        yield contract.starts_on
        if contract.ends_on is not None:
            yield contract.ends_on - warning
            yield contract.ends_on - timedelta(days=HIGH_WITHIN_DAYS)
            yield contract.ends_on + timedelta(days=1)
