"""The operations on the records a journey refers to: agencies, contracts, persons and cases.

They are idempotent, because imports repeat them: saving a record that is already there with the
same values changes nothing and audits nothing; saving it with new values updates it and audits
the before and after. What would rewrite history (a case moved to another person, a new opening
day) is refused.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from gapwatch import clock
from gapwatch.errors import Conflict, DomainError, InvalidInput
from gapwatch.models import Agency, AgencyKind, Case, Contract, Person, RiskLevel
from gapwatch.operations.identity import (
    proposed_with,
    require_may_save_person,
    save_identifiers,
    touch_persons,
)
from gapwatch.operations.unit import CaseState, UnitOfWork, choice

AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")


def _changes(obj, values: dict) -> dict:
    return {k: (getattr(obj, k), v) for k, v in values.items() if getattr(obj, k) != v}


def save_agency(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    kind: str,
    region: str = "",
    alert_emails: list[str] | None = None,
    alert_severities: list[str] | None = None,
    escalation_emails: list[str] | None = None,
    active: bool = True,
) -> Agency:
    """Create the agency `code`, or update it to these values."""
    uow.require_agency(None, "manage agencies")
    if not AGENCY_CODE.fullmatch(code or ""):
        raise InvalidInput(
            f"agency code {code!r} must be 2-32 capital letters, digits or hyphens, "
            "starting with a letter or digit",
            field="code",
        )
    values = {
        "name": name,
        "kind": choice(kind, AgencyKind, "kind").value,
        "region": region or "",
        "alert_emails": list(alert_emails or []),
        "active": active,
    }
    if alert_severities is not None:
        values["alert_severities"] = list(alert_severities)
    if escalation_emails is not None:
        values["escalation_emails"] = list(escalation_emails)
    agency = uow.agencies().get(code)
    if agency is None:
        agency = Agency(id=uow.new_id(Agency), code=code, **values)
        uow.session.add(agency)
        uow.remember_agency(agency)
        uow.audit("agency.created", agency=code, after=values)
        return agency
    changes = _changes(agency, values)
    if changes:
        for key, (_old, new) in changes.items():
            setattr(agency, key, new)
        uow.audit(
            "agency.updated",
            agency=code,
            before={k: old for k, (old, _new) in changes.items()},
            after={k: new for k, (_old, new) in changes.items()},
        )
    return agency


def save_contract(
    uow: UnitOfWork,
    *,
    provider: str,
    commissioner: str,
    service: str,
    starts_on: date,
    ends_on: date | None = None,
) -> Contract:
    """Record that `provider` delivers `service` for `commissioner` from `starts_on` to `ends_on`."""
    uow.require_agency(None, "manage contracts")
    supplier = uow.agency(provider, field="provider")
    buyer = uow.agency(commissioner, field="commissioner")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(f"ends_on {ends_on} is before starts_on {starts_on}", field="ends_on")
    contract = uow.session.exec(
        select(Contract).where(
            Contract.provider_id == supplier.id,
            Contract.commissioner_id == buyer.id,
            Contract.service == service,
            Contract.starts_on == starts_on,
        )
    ).scalar_one_or_none()
    described = {
        "provider": provider,
        "commissioner": commissioner,
        "service": service,
        "starts_on": starts_on,
    }
    if contract is None:
        contract = Contract(
            id=uow.new_id(Contract),
            provider_id=supplier.id,
            commissioner_id=buyer.id,
            service=service,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        uow.session.add(contract)
        uow.audit("contract.created", **described, ends_on=ends_on)
    elif contract.ends_on != ends_on:
        uow.audit(
            "contract.updated", **described, before={"ends_on": contract.ends_on},
            after={"ends_on": ends_on},
        )
        contract.ends_on = ends_on
    return contract


def save_person(
    uow: UnitOfWork,
    *,
    reference: str,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    home_area: str | None = None,
    restricted: bool = False,
    identifiers: dict[str, str] | None = None,
) -> Person:
    """Create the person `reference`, or update their details and identifiers.

    An identifier another person already holds links the two (`operations.identity`).
    """
    if not reference:
        raise InvalidInput("a person needs a reference", field="reference")
    person = uow.find_person(reference)
    area = uow.agency(home_area, field="home_area") if home_area else None
    require_may_save_person(uow, reference=reference, person=person, restricted=restricted,
                            home_area_id=area.id if area else None,
                            schemes=list(identifiers or ()))
    if area is not None and area.kind != AgencyKind.probation:
        raise DomainError(
            f"home_area {home_area} is a {area.kind} agency; it must be a probation area",
            field="home_area",
        )
    values = {
        "given_name": given_name,
        "family_name": family_name,
        "date_of_birth": date_of_birth,
        "home_area_id": area.id if area else None,
        "restricted": bool(restricted),
    }
    if person is None:
        person = uow.insert(Person, id=uow.new_id(Person), reference=reference, **values)
        uow.remember_person(person)
        uow.audit("person.created", person=reference, after=_person_view(values, home_area))
        save_identifiers(uow, person=person, identifiers=identifiers, on=clock.today(),
                         is_new=True)
        return person
    changes = _changes(person, values)
    if changes:
        before = {k: old for k, (old, _new) in changes.items()}
        for key, (_old, new) in changes.items():
            setattr(person, key, new)
        uow.audit("person.updated", person=reference, before=before,
                  after={k: new for k, (_old, new) in changes.items()})
        # Their birthday, home area and restriction are what the rules read (of their linked
        # group), and a restriction is what a proposal's flag says of them to the other record:
        # those cases are checked again before the unit commits, as a journey's change is.
        persons = {person.id}
        if "restricted" in changes:
            persons |= proposed_with(uow.session, persons)
        touch_persons(uow, persons, clock.today(), "person.updated")
    save_identifiers(uow, person=person, identifiers=identifiers, on=clock.today())
    return person


def _person_view(values: dict, home_area: str | None) -> dict:
    shown = {k: v for k, v in values.items() if k != "home_area_id"}
    shown["home_area"] = home_area
    return shown


def open_case(
    uow: UnitOfWork,
    *,
    reference: str,
    person: str,
    opened_on: date,
    risk_level: str = RiskLevel.medium.value,
    expected_release_on: date | None = None,
) -> Case:
    """Open case `reference` for `person`; saving it again updates its risk and release day."""
    uow.require_agency(None, "open cases")
    if not reference:
        raise InvalidInput("a case needs a reference", field="reference")
    risk_level = choice(risk_level, RiskLevel, "risk_level").value
    owner = uow.person(person, field="person")
    state = uow.find_case(reference)
    if state is None:
        case = uow.insert(
            Case,
            id=uow.new_id(Case),
            reference=reference,
            person_id=owner.id,
            opened_on=opened_on,
            risk_level=risk_level,
            expected_release_on=expected_release_on,
        )
        state = CaseState(case, owner)
        uow.remember_case(state)
        uow.audit(
            "case.opened", state=state, person=person, opened_on=opened_on,
            risk_level=risk_level, expected_release_on=expected_release_on,
        )
        return case
    case = state.case
    if case.person_id != owner.id:
        raise Conflict(
            f"case {reference} belongs to person {state.person.reference}, not {person}",
            field="person",
        )
    if case.opened_on != opened_on:
        raise Conflict(
            f"case {reference} was opened on {case.opened_on}, not {opened_on}", field="opened_on"
        )
    set_case_details(
        uow, case=reference, risk_level=risk_level, expected_release_on=expected_release_on
    )
    return case


def set_case_details(
    uow: UnitOfWork, *, case: str, risk_level: str, expected_release_on: date | None
) -> Case:
    """Change a case's risk level and expected release day."""
    state = uow.case(case)
    uow.require_agency(None, f"change case {case}")
    values = {
        "risk_level": choice(risk_level, RiskLevel, "risk_level").value,
        "expected_release_on": expected_release_on,
    }
    changes = _changes(state.case, values)
    if changes:
        for key, (_old, new) in changes.items():
            setattr(state.case, key, new)
        # Its risk and release day are what the rules read: checked again before the unit
        # commits, as a journey's change is.
        uow.touch(state, clock.today())
        uow.audit(
            "case.updated", state=state,
            before={k: old for k, (old, _new) in changes.items()},
            after={k: new for k, (_old, new) in changes.items()},
        )
    return state.case
