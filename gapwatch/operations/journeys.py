"""The operations that change a journey: ownerships, handoffs and the end of a case.

Each checks who may do it, in which state and on which day, writes, and appends to the audit
trail, inside the caller's unit of work. The rules of SPEC.md's "Domain" section live here:
a handoff is `pending` until it is accepted, rejected or withdrawn, all three final; an
accepted handoff takes effect on `max(decided_on, due_on or decided_on)`; a transfer ends the
sender's ownership that same day, so it never opens a gap.
"""

from __future__ import annotations

from datetime import date

from gapwatch import authority
from gapwatch.clock import long_day
from gapwatch.errors import Conflict, DomainError, InvalidInput, NotFound
from gapwatch.models import (
    ACCOUNTABLE_ROLES,
    Handoff,
    HandoffKind,
    HandoffStatus,
    Ownership,
    Role,
)
from gapwatch.operations.unit import CaseState, UnitOfWork, choice


def _role(value: str) -> Role:
    return choice(value, Role, "role")


def _kind(value: str) -> HandoffKind:
    return choice(value, HandoffKind, "kind")


def _is_active(ownership: Ownership, day: date) -> bool:
    return ownership.starts_on <= day and (ownership.ends_on is None or day < ownership.ends_on)


def _require_open(state: CaseState, on: date, doing: str) -> None:
    case = state.case
    if on < case.opened_on:
        raise DomainError(
            f"case {case.reference} cannot {doing} on {long_day(on)}: it was opened on "
            f"{long_day(case.opened_on)}",
            field="on",
        )
    if case.closed_on is not None and on >= case.closed_on:
        raise Conflict(
            f"case {case.reference} cannot {doing} on {long_day(on)}: it was closed on "
            f"{long_day(case.closed_on)}",
            field="on",
        )


def active_ownerships(
    uow: UnitOfWork, state: CaseState, agency_code: str, on: date, role: str | None = None
) -> list[Ownership]:
    agency = uow.agency(agency_code)
    return [
        o
        for o in state.ownerships
        if o.agency_id == agency.id and _is_active(o, on) and (role is None or o.role == role)
    ]


def _ownership_view(uow: UnitOfWork, o: Ownership) -> dict:
    return {
        "id": o.id,
        "agency": uow.agency_by_id(o.agency_id).code,
        "role": o.role,
        "starts_on": o.starts_on,
        "ends_on": o.ends_on,
        "officer": o.officer,
    }


def _facts_of(journey, row) -> object:
    """Return the journey's facts of an ownership or handoff row, by id."""
    found = journey.ownerships if isinstance(row, Ownership) else journey.handoffs
    return next(f for f in found if f.id == row.id)


def _handoff_view(uow: UnitOfWork, h: Handoff) -> dict:
    sender = uow.agency_by_id(h.from_agency_id)
    return {
        "id": h.id,
        "kind": h.kind,
        "role": h.role,
        "from_agency": sender.code if sender else None,
        "to_agency": uow.agency_by_id(h.to_agency_id).code,
        "requested_on": h.requested_on,
        "due_on": h.due_on,
        "status": h.status,
        "decided_on": h.decided_on,
        "reason": h.reason,
    }


def start_ownership(
    uow: UnitOfWork,
    *,
    case: str,
    on: date,
    agency: str,
    role: str,
    officer: str | None = None,
    handoff: Handoff | None = None,
    interim: bool = False,
) -> Ownership:
    """Record that `agency` became responsible for the case in `role` from day `on`.

    Without a `handoff` it is a fact an agency reports (a reception into prison) or a gap being
    taken (`take_supervision`): the authority table says who may; with one, the receiver's
    acceptance already did. An `interim` custody or supervision ends on the day another agency
    that accepted the case from a later day takes it over (`_taken_over`), so the two never
    overlap; an operator's import records what it reports, open-ended.
    """
    state = uow.case(case)
    role = _role(role)
    owner = uow.agency(agency)
    uow.require(authority.may_hold(agency, owner.kind, role.value), field="role")
    self_started = False
    if handoff is None:
        journey = uow.journey(state)
        # Only an agency's own take of a gap reads who the gap's flag tells (an operator's
        # import may start any ownership): reading it flushes, so an import does not ask.
        asks = role is Role.supervision and uow.actor.agency is not None
        told = uow.told_of_gap(state) if asks else ()
        uow.require(authority.may_start(uow.actor, journey, on, agency=agency, kind=owner.kind,
                                        role=role.value, notified=told), field="agency")
        if role is Role.supervision and uow.actor.agency is not None and not (officer or "").strip():
            raise InvalidInput(f"{agency} takes the case with a named officer: who will it be?",
                               field="officer")
        self_started = authority.self_started(uow.actor, journey, on, agency)
    _require_open(state, on, f"start an ownership for {agency}")
    if not owner.active:
        raise DomainError(f"agency {agency} is inactive and cannot take cases", field="agency")
    for held in active_ownerships(uow, state, agency, on, role):
        raise Conflict(
            f"{agency} already holds {role} of case {case} since {long_day(held.starts_on)}",
            field="agency")
    for later in _starting_after(state, role.value, on):  # it would overlap this open-ended one
        if later.agency_id == owner.id:
            raise Conflict(f"{agency} already takes {role} of case {case} from "
                           f"{long_day(later.starts_on)}: a second would overlap it",
                           field="agency")
    ownership = uow.insert(
        Ownership,
        id=uow.new_id(Ownership),
        case_id=state.case.id,
        agency_id=owner.id,
        role=role.value,
        starts_on=on,
        officer=officer or None,
        allocated_on=on if officer else None,
        handoff_id=handoff.id if handoff else None,
        self_started=self_started,
    )
    state.ownerships.append(ownership)
    coming = _taken_over(state, owner.id, role.value, on) if interim else None
    if coming is not None:
        ownership.ends_on = coming.starts_on
        ownership.ended_reason = f"until {uow.agency_by_id(coming.agency_id).code} takes over"
    uow.touch(state, on)
    uow.audit(
        "ownership.started",
        state=state,
        agency=agency,
        role=role.value,
        on=on,
        officer=officer,
        handoff=handoff.id if handoff else None,
        **({"until": coming.starts_on} if coming is not None else {}),
    )
    return ownership


def _starting_after(state: CaseState, role: str, on: date) -> list[Ownership]:
    """Return the case's ownerships in `role` that start after `on` (accepted from a later
    day), soonest first."""
    return sorted((o for o in state.ownerships if o.role == role and o.starts_on > on),
                  key=lambda o: o.starts_on)


def _taken_over(state: CaseState, agency_id: int, role: str, on: date) -> Ownership | None:
    """Return the first custody or supervision in `role` that another agency takes from a day
    after `on` (an acceptance due then), which an ownership starting on `on` must end by."""
    if role not in ACCOUNTABLE_ROLES:
        return None
    return next((o for o in _starting_after(state, role, on) if o.agency_id != agency_id), None)


def take_supervision(uow: UnitOfWork, *, case: str, on: date, agency: str,
                     officer: str | None) -> Ownership:
    """Take supervision of a case nobody is accountable for, naming the officer who will hold it.

    The authority table says who may (`authority.may_take_supervision`); `start_ownership`
    asks it, and refuses a take without an officer. The take ends the gap, so the requests
    still pending that an agency take supervision are superseded (`_withdraw_asks_of_gap`).
    """
    ownership = start_ownership(uow, case=case, on=on, agency=agency,
                                role=Role.supervision.value,
                                officer=(officer or "").strip() or None, interim=True)
    _withdraw_asks_of_gap(uow, uow.case(case), Role.supervision.value, on,
                          f"{agency} took supervision on {long_day(on)}")
    return ownership


def _withdraw_asks_of_gap(uow: UnitOfWork, state: CaseState, role: str, on: date,
                          why: str) -> None:
    """Withdraw, as superseded, the requests still pending that an agency take `role` of a case
    that was in a gap and now has its owner: each agency told of a gap may ask several, and
    left pending one would fall overdue, or be accepted to give the case two owners."""
    for other in state.handoffs:
        if other.status == HandoffStatus.pending and other.role == role:
            _finish(uow, state, other, max(on, other.requested_on), HandoffStatus.withdrawn,
                    f"superseded: {why}")


def end_ownership(
    uow: UnitOfWork,
    *,
    case: str,
    on: date,
    agency: str,
    role: str | None = None,
    reason: str | None = None,
) -> Ownership:
    """Record that `agency`'s ownership of the case ends on day `on` (its last day is `on - 1`)."""
    state = uow.case(case)
    if role is not None:
        role = _role(role).value
    active = active_ownerships(uow, state, agency, on, role)
    if not active:
        what = f"{role} ownership" if role else "ownership"
        raise Conflict(f"{agency} has no {what} of case {case} active on {long_day(on)}",
                       field="agency")
    if len(active) > 1:
        roles = ", ".join(o.role for o in active)
        raise InvalidInput(
            f"{agency} holds several ownerships of case {case} on {long_day(on)} ({roles}): "
            "name the role",
            field="role",
        )
    ownership = active[0]
    journey = uow.journey(state)
    uow.require(authority.may_end(uow.actor, journey, on, _facts_of(journey, ownership)),
                field="agency")
    before = _ownership_view(uow, ownership)
    ownership.ends_on = on
    ownership.ended_reason = reason
    uow.touch(state, on)
    uow.audit(
        "ownership.ended",
        state=state,
        reason=reason,
        before=before,
        after=_ownership_view(uow, ownership),
    )
    return ownership


def assign_officer(
    uow: UnitOfWork,
    *,
    case: str,
    on: date,
    agency: str,
    officer: str,
    role: str | None = None,
) -> Ownership:
    """Name the officer responsible for `agency`'s current or coming ownership of the case."""
    state = uow.case(case)
    officer = (officer or "").strip()
    if not officer:
        raise InvalidInput("an officer's name is required", field="officer")
    owner = uow.agency(agency)
    candidates = [
        o
        for o in state.ownerships
        if o.agency_id == owner.id
        and (o.ends_on is None or on < o.ends_on)
        and (role is None or o.role == role)
    ]
    if not candidates:
        raise Conflict(
            f"{agency} has no current or coming ownership of case {case} on {long_day(on)}", field="agency"
        )
    ownership = min(candidates, key=lambda o: o.starts_on)
    journey = uow.journey(state)
    uow.require(authority.may_end(uow.actor, journey, on, _facts_of(journey, ownership),
                                  "assign"), field="agency")
    before = _ownership_view(uow, ownership)
    ownership.officer = officer
    if ownership.allocated_on is None:
        ownership.allocated_on = on
    uow.touch(state, on)
    uow.audit(
        "officer.assigned", state=state, before=before, after=_ownership_view(uow, ownership)
    )
    return ownership


def request_handoff(
    uow: UnitOfWork,
    *,
    case: str,
    on: date,
    to_agency: str,
    role: str,
    kind: str,
    from_agency: str | None = None,
    due_on: date | None = None,
    reason: str | None = None,
) -> Handoff:
    """Ask `to_agency` to take the case in `role`; a transfer will end the sender's ownership."""
    state = uow.case(case)
    role, kind = _role(role), _kind(kind)
    _require_open(state, on, f"request a handoff to {to_agency}")
    receiver = uow.agency(to_agency, field="to_agency")
    sender = uow.agency(from_agency, field="from_agency") if from_agency else None
    if kind is HandoffKind.transfer and sender is None:
        raise InvalidInput("a transfer needs a sending agency that owns the case",
                           field="from_agency")
    decision = authority.may_request(
        uow.actor, uow.journey(state), on, sender=from_agency, role=role.value,
        kind=kind.value, receiver=to_agency, receiver_kind=receiver.kind)
    field = "to_agency" if decision.rule == "role-table" else "from_agency"
    uow.require(decision, field=field)
    if not receiver.active:
        raise DomainError(f"agency {to_agency} is inactive and cannot take cases", field="to_agency")
    if sender is not None and sender.id == receiver.id:
        raise InvalidInput(f"{to_agency} cannot hand case {case} to itself", field="to_agency")
    if due_on is not None and due_on < on:
        raise InvalidInput(
            f"the due day, {long_day(due_on)}, is before the request day, {long_day(on)}", field="due_on"
        )
    for pending in _pending_to(state, receiver.id):
        raise Conflict(
            f"case {case} already has a pending handoff to {to_agency} "
            f"(requested {long_day(pending.requested_on)})",
            field="to_agency",
        )
    for held in active_ownerships(uow, state, to_agency, on, role):
        raise Conflict(
            f"{to_agency} already holds {role} of case {case} since {long_day(held.starts_on)}",
            field="to_agency",
        )
    # Nor one that takes it on a later day (an accepted request due then): left pending, the
    # new request would fall overdue, as accepting it would be refused as an overlap.
    for coming in _starting_after(state, role.value, on):
        if (coming.agency_id == receiver.id
                and (coming.ends_on is None or coming.ends_on > max(on, due_on or on))):
            raise Conflict(
                f"{to_agency} already takes {role} of case {case} from "
                f"{long_day(coming.starts_on)}",
                field="to_agency",
            )
    handoff = uow.insert(
        Handoff,
        id=uow.new_id(Handoff),
        case_id=state.case.id,
        kind=kind.value,
        role=role.value,
        from_agency_id=sender.id if sender else None,
        to_agency_id=receiver.id,
        requested_on=on,
        due_on=due_on,
        reason=reason,
    )
    state.handoffs.append(handoff)
    uow.touch(state, on)
    uow.audit("handoff.requested", state=state, after=_handoff_view(uow, handoff))
    return handoff


def _pending_to(state: CaseState, agency_id: int) -> list[Handoff]:
    return [
        h
        for h in state.handoffs
        if h.to_agency_id == agency_id and h.status == HandoffStatus.pending
    ]


def pending_handoff(uow: UnitOfWork, state: CaseState, to_agency: str, doing: str) -> Handoff:
    """Return the case's pending handoff to `to_agency`, or say why there is none."""
    receiver = uow.agency(to_agency, field="to_agency")
    pending = _pending_to(state, receiver.id)
    if pending:
        return pending[0]
    reference = state.case.reference
    earlier = [h for h in state.handoffs if h.to_agency_id == receiver.id]
    if earlier:
        last = earlier[-1]
        why = f" ({last.reason})" if last.status == "withdrawn" and last.reason else ""
        raise Conflict(
            f"cannot {doing}: the handoff to {to_agency} for case {reference} "
            f"is already {last.status}{why}",
            field="to_agency",
        )
    raise NotFound(
        f"cannot {doing}: case {reference} has no pending handoff to {to_agency}",
        field="to_agency",
    )


def _decide(uow: UnitOfWork, state: CaseState, handoff: Handoff, on: date, doing: str) -> None:
    if on < handoff.requested_on:
        raise DomainError(
            f"cannot {doing} on {long_day(on)}: the handoff was requested on "
            f"{long_day(handoff.requested_on)}",
            field="on",
        )
    _require_open(state, on, doing)


def accept_handoff(
    uow: UnitOfWork, *, case: str, on: date, to_agency: str, officer: str | None = None
) -> Handoff:
    """Accept the pending handoff to `to_agency`; its ownership starts on the effective day."""
    state = uow.case(case)
    handoff = pending_handoff(uow, state, to_agency, "accept")
    journey = uow.journey(state)
    uow.require(authority.may_decide(uow.actor, _facts_of(journey, handoff), "accept"),
                field="to_agency")
    _decide(uow, state, handoff, on, "accept")
    in_gap = authority.in_gap(journey, on)
    effective_on = max(on, handoff.due_on or on)
    for held in active_ownerships(uow, state, to_agency, effective_on, handoff.role):
        raise Conflict(
            f"{to_agency} already holds {handoff.role} of case {case} since {long_day(held.starts_on)}",
            field="to_agency",
        )
    is_transfer = handoff.kind == HandoffKind.transfer and handoff.from_agency_id is not None
    if is_transfer:
        _refuse_stale_transfer(uow, state, handoff, effective_on)
    before = _handoff_view(uow, handoff)
    handoff.status = HandoffStatus.accepted.value
    handoff.decided_on = on
    handoff.officer = officer or None
    ended = None
    if is_transfer:
        ended = _end_for_transfer(uow, state, handoff, effective_on)
        _withdraw_superseded(uow, state, handoff, on)
    # Only an acceptance that ends the gap now: one from a later day leaves it open until
    # then, and another agency may still be asked to cover it meanwhile (`interim`).
    if in_gap and effective_on == on and handoff.role in ACCOUNTABLE_ROLES:
        _withdraw_asks_of_gap(uow, state, handoff.role, on,
                              f"{to_agency} accepted {handoff.role} from {long_day(effective_on)}")
    ownership = start_ownership(
        uow,
        case=case,
        on=effective_on,
        agency=to_agency,
        role=handoff.role,
        officer=officer,
        handoff=handoff,
        interim=uow.actor.agency is not None,
    )
    uow.audit(
        "handoff.accepted",
        state=state,
        effective_on=effective_on,
        before=before,
        after=_handoff_view(uow, handoff),
        ended_ownership=ended.id if ended else None,
        started_ownership=ownership.id,
    )
    return handoff


def _refuse_stale_transfer(
    uow: UnitOfWork, state: CaseState, handoff: Handoff, effective_on: date
) -> None:
    """Refuse a transfer whose sender was replaced meanwhile: accepting it would make two owners."""
    sender_holds = any(
        o.agency_id == handoff.from_agency_id and authority.same_class(o.role, handoff.role)
        and _is_active(o, effective_on)
        for o in state.ownerships
    )
    if sender_holds:
        return
    for other in state.ownerships:
        if (other.role == handoff.role and _is_active(other, effective_on)
                and other.agency_id not in (handoff.from_agency_id, handoff.to_agency_id)):
            holder = uow.agency_by_id(other.agency_id).code
            sender = uow.agency_by_id(handoff.from_agency_id).code
            raise Conflict(
                f"cannot accept: case {state.case.reference} is held in {other.role} by {holder} "
                f"since {other.starts_on}, so the transfer from {sender} is out of date",
                field="to_agency",
            )


def _withdraw_superseded(uow: UnitOfWork, state: CaseState, accepted: Handoff, on: date) -> None:
    """Withdraw the sender's other pending transfers of the same class: the case has moved on."""
    receiver = uow.agency_by_id(accepted.to_agency_id).code
    for other in state.handoffs:
        if (other is not accepted and other.status == HandoffStatus.pending
                and other.kind == HandoffKind.transfer
                and other.from_agency_id == accepted.from_agency_id
                and authority.same_class(other.role, accepted.role)):
            _finish(uow, state, other, max(on, other.requested_on), HandoffStatus.withdrawn,
                    f"superseded by the transfer to {receiver}")


def _end_for_transfer(
    uow: UnitOfWork, state: CaseState, handoff: Handoff, effective_on: date
) -> Ownership | None:
    """End the sender's ownership of the transferred class on the day the receiver starts."""
    held = [
        o
        for o in state.ownerships
        if o.agency_id == handoff.from_agency_id
        and authority.same_class(o.role, handoff.role)
        and o.starts_on <= effective_on
        and (o.ends_on is None or effective_on < o.ends_on)
    ]
    if not held:
        return None  # the sender's ownership already ended (a release, say): nothing to end
    ownership = min(held, key=lambda o: (o.role != handoff.role, o.starts_on))
    ownership.ends_on = effective_on
    ownership.ended_reason = f"transferred to {uow.agency_by_id(handoff.to_agency_id).code}"
    return ownership


def reject_handoff(
    uow: UnitOfWork, *, case: str, on: date, to_agency: str, reason: str
) -> Handoff:
    """Refuse the pending handoff to `to_agency`, saying why, so the sender can act on it."""
    state = uow.case(case)
    handoff = pending_handoff(uow, state, to_agency, "reject")
    journey = uow.journey(state)
    uow.require(authority.may_decide(uow.actor, _facts_of(journey, handoff), "reject"),
                field="to_agency")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a rejection needs a reason the sender can act on", field="reason")
    _decide(uow, state, handoff, on, "reject")
    return _finish(uow, state, handoff, on, HandoffStatus.rejected, reason)


def withdraw_handoff(
    uow: UnitOfWork, *, case: str, on: date, to_agency: str, reason: str | None = None
) -> Handoff:
    """Withdraw the sender's pending handoff to `to_agency`."""
    state = uow.case(case)
    handoff = pending_handoff(uow, state, to_agency, "withdraw")
    journey = uow.journey(state)
    uow.require(authority.may_withdraw(uow.actor, _facts_of(journey, handoff)),
                field="to_agency")
    _decide(uow, state, handoff, on, "withdraw")
    return _finish(uow, state, handoff, on, HandoffStatus.withdrawn, reason)


def _finish(
    uow: UnitOfWork,
    state: CaseState,
    handoff: Handoff,
    on: date,
    status: HandoffStatus,
    reason: str | None,
) -> Handoff:
    before = _handoff_view(uow, handoff)
    handoff.status = status.value
    handoff.decided_on = on
    handoff.reason = reason or handoff.reason
    uow.touch(state, on)
    uow.audit(f"handoff.{status.value}", state=state, before=before, after=_handoff_view(uow, handoff))
    return handoff


def close_case(uow: UnitOfWork, *, case: str, on: date, reason: str | None = None) -> None:
    """Close the case on day `on`: its ownerships end and its pending handoffs are withdrawn."""
    state = uow.case(case)
    uow.require(authority.may_close(uow.actor, uow.journey(state), on))
    _require_open(state, on, "be closed")
    for ownership in state.ownerships:
        if ownership.ends_on is None or ownership.ends_on > on:
            ownership.ends_on = max(on, ownership.starts_on)
            ownership.ended_reason = "case closed"
    for handoff in state.handoffs:
        if handoff.status == HandoffStatus.pending:
            handoff.status = HandoffStatus.withdrawn.value
            handoff.decided_on = max(on, handoff.requested_on)
            handoff.reason = "case closed"
    state.case.closed_on = on
    uow.touch(state, on)
    uow.audit("case.closed", state=state, on=on, reason=reason)
