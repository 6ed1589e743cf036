"""Contract lapsed: a provider is delivering a service that no contract covers on day `d`.

A provider delivers for a commissioner only while a contract covers the day (contract dates
are inclusive at both ends). Fires while a `delivery` ownership is active and no contract of
that provider with the case's accountable owner covers `d` (with several accountable owners,
a contract with any of them will do; with none, a contract with any commissioner). The person is
then getting a service nobody is paying for, or about to lose it without notice. The flag is
about that delivery ownership.

- **Severity**: `high`.
- **Tells**: the accountable owner(s) and the provider.
"""

from __future__ import annotations

from datetime import timedelta

from gapwatch import clock
from gapwatch.journey import Journey
from gapwatch.rules import Context, Found, rule, turns
from gapwatch.rules.contract_ending import live_contracts

DELIVERY = frozenset({"delivery"})


@rule("contract-lapsed", "A provider delivers with no contract in force")
def contract_lapsed(journey: Journey, context: Context):
    day = context.day
    deliveries = journey.active_on(day, roles=DELIVERY)
    if not deliveries:
        return
    owners = tuple(dict.fromkeys(o.agency for o in journey.accountable_on(day)))
    for delivery in deliveries:
        relevant = [
            c for c in context.contracts_of(delivery.agency)
            if not owners or c.commissioner in owners
        ]
        if any(c.covers(day) for c in relevant):
            continue
        ended = [c.ends_on for c in relevant if c.ends_on is not None and c.ends_on < day]
        since = max([delivery.starts_on, *(e + timedelta(days=1) for e in ended)])
        buyers = " or ".join(owners) if owners else "any commissioner"
        last = f"; the last one ended on {clock.long_day(max(ended))}" if ended else ""
        yield Found(
            subject=f"delivery:{delivery.id}",
            severity="high",
            since=since,
            notify=(*owners, delivery.agency),
            message=(
                f"{delivery.agency} is delivering for this person with no contract with "
                f"{buyers} in force since {clock.long_day(since)}{last}."
            ),
            evidence={
                "delivery_ownership": delivery.id,
                "provider": delivery.agency,
                "accountable_owners": list(owners),
                "last_contract_ended_on": max(ended) if ended else None,
            },
        )


@turns(contract_lapsed)
def contract_lapsed_turns(journey: Journey, context: Context):
    """A contract of a delivering provider starts covering, or stops the day after it ends
    (`contract_ending.live_contracts`: those that can matter before the journey's next day)."""
    for contract in live_contracts(journey, context):
        yield contract.starts_on
        if contract.ends_on is not None:
            yield contract.ends_on + timedelta(days=1)
