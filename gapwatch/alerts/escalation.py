"""Where an agency's long-open flags are escalated: its commissioners, or its region's lead.

A flag open for `escalate_after_days` is marked ESCALATED in the agency's digest and also sent,
as an outbox row of kind `escalation`, to the addresses `escalation_emails` returns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch.models import Agency, AgencyKind, Contract


def commissioners(session: Session, day: date) -> dict[str, list[str]]:
    """Return, for each provider, the commissioners it answers to on `day`.

    Those whose contract with it covers the day; for a provider with none (its contract has
    lapsed, which is what `contract-lapsed` flags), those of its latest contract before the day.
    """
    provider, buyer = aliased(Agency), aliased(Agency)
    covering: dict[str, list[str]] = defaultdict(list)
    latest: dict[str, tuple[date, list[str]]] = {}
    for provider_code, buyer_code, ends_on in session.execute(
        select(provider.code, buyer.code, Contract.ends_on)
        .join(Contract, Contract.provider_id == provider.id)
        .join(buyer, buyer.id == Contract.commissioner_id)
        .where(Contract.starts_on <= day)
        .order_by(provider.code, buyer.code)
    ):
        if ends_on is None or ends_on >= day:
            covering[provider_code].append(buyer_code)
            continue
        last, codes = latest.get(provider_code, (date.min, []))
        if ends_on > last:
            latest[provider_code] = (ends_on, [buyer_code])
        elif ends_on == last:
            codes.append(buyer_code)
    found = {code: list(dict.fromkeys(codes)) for code, (_last, codes) in latest.items()}
    found.update({code: list(dict.fromkeys(codes)) for code, codes in covering.items()})
    return found


def escalation_emails(agency: Agency, agencies: dict[str, Agency],
                      answers_to: dict[str, list[str]]) -> list[str]:
    """Return where `agency`'s long-open flags escalate to.

    A provider answers to its commissioners: the escalation addresses of every agency holding a
    contract with it that covers the day (or, when its contracts have all lapsed, its latest
    one). Any other agency, and a provider whose commissioners name no address, escalates to
    the address it names itself in `escalation_emails`: its region's lead (a regional
    director, a head of service).
    """
    addresses: list[str] = []
    if agency.kind == AgencyKind.provider:
        for code in answers_to.get(agency.code, []):
            commissioner = agencies.get(code)
            addresses += commissioner.escalation_emails if commissioner else []
    return list(dict.fromkeys(addresses or agency.escalation_emails))
