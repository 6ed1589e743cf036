"""The actions on a case: each a posted form that runs one domain operation as the signed-in user.

The operations decide who may do what (the receiver accepts or rejects, the sender withdraws,
an auditor changes nothing); a refusal comes back as the operation's own message, flashed on
the case page with the operation's HTTP status. Success redirects (303) to the case page, or
to the page the form came from when it said so in `next`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.authority import HOLDS
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency, Flag, Handoff, Ownership
from gapwatch.web import forms
from gapwatch.web.access import case_or_404
from gapwatch.web.auth import safe_next
from gapwatch.web.cases import render_case

bp = Blueprint("actions", __name__, url_prefix="/cases/<reference>")


def _run(reference: str, form: forms.ActionForm, done: str, operation, **values):
    """Run `operation` on the case today; flash `done` or the refusal, and answer accordingly."""
    session = get_session()
    case = case_or_404(session, current_user, reference)
    if not form.validate():
        for field, errors in form.errors.items():
            for error in errors:
                flash(f"{getattr(form, field).label.text}: {error}", "error")
        return render_case(case.reference, 400, errors={
            field: "; ".join(errors) for field, errors in form.errors.items()})
    try:
        with ops.unit_of_work(session, current_user.actor) as uow:
            operation(uow, case=case.reference, on=clock.today(), **values)
    except DomainError as error:
        flash(f"Not done: {error.message}.", "error")
        return render_case(case.reference, error.status,
                           errors={error.field: error.message} if error.field else None)
    flash(done, "info")
    fallback = url_for("cases.show", reference=case.reference)
    target = safe_next(form.next.data, fallback) if form.next.data else fallback
    return redirect(target, 303)


def _handoff(reference: str, handoff_id: int) -> tuple[Handoff, str, str | None]:
    """Return the case's handoff with its receiver's and sender's codes, or 404."""
    session = get_session()
    case = case_or_404(session, current_user, reference)
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.case_id != case.id:
        abort(404)
    receiver = session.get(Agency, handoff.to_agency_id)
    sender = session.get(Agency, handoff.from_agency_id) if handoff.from_agency_id else None
    return handoff, receiver.code, sender.code if sender else None


def _ownership(reference: str, ownership_id: int) -> tuple[Ownership, str]:
    session = get_session()
    case = case_or_404(session, current_user, reference)
    ownership = session.get(Ownership, ownership_id)
    if ownership is None or ownership.case_id != case.id:
        abort(404)
    return ownership, session.get(Agency, ownership.agency_id).code


@bp.route("/handoffs", methods=["POST"])
@login_required
def request_handoff(reference: str):
    form = forms.RequestForm()
    kinds = {code: kind for code, kind in get_session().execute(select(Agency.code, Agency.kind))}
    form.to_agency.choices = [(c, c) for c in kinds]
    form.from_agency.choices = [("", "")] + [(c, c) for c in kinds]
    sender = current_user.agency_code or form.from_agency.data or None
    # The role is the one the receiver can hold, unless the form named one.
    held = sorted(HOLDS.get(kinds.get(form.to_agency.data), ()))
    role = form.role.data or (held[0] if held else "supervision")
    return _run(
        reference, form,
        f"Asked {form.to_agency.data} to take {role} of case {reference} ({form.kind.data}).",
        ops.request_handoff, from_agency=sender, to_agency=form.to_agency.data,
        role=role, kind=form.kind.data, due_on=form.due_on.data,
        reason=form.reason.data or None,
    )


@bp.route("/take", methods=["POST"])
@login_required
def take(reference: str):
    form = forms.TakeForm()
    agency = current_user.agency_code
    if agency is None:
        abort(403)  # taking a case is for an agency's own case managers
    return _run(
        reference, form,
        f"{agency} now supervises case {reference}, with {form.officer.data} as officer.",
        ops.take_supervision, agency=agency, officer=form.officer.data,
    )


@bp.route("/handoffs/<int:handoff_id>/accept", methods=["POST"])
@login_required
def accept(reference: str, handoff_id: int):
    form = forms.AcceptForm()
    handoff, receiver, _sender = _handoff(reference, handoff_id)
    return _run(
        reference, form, f"Accepted: {receiver} takes {handoff.role} of case {reference}.",
        ops.accept_handoff, to_agency=receiver, officer=(form.officer.data or "").strip() or None,
    )


@bp.route("/handoffs/<int:handoff_id>/reject", methods=["POST"])
@login_required
def reject(reference: str, handoff_id: int):
    form = forms.RejectForm()
    _handoff_row, receiver, sender = _handoff(reference, handoff_id)
    return _run(
        reference, form, f"Rejected the handoff of case {reference}; {sender or 'the sender'} "
        "will see your reason.",
        ops.reject_handoff, to_agency=receiver, reason=form.reason.data or "",
    )


@bp.route("/handoffs/<int:handoff_id>/withdraw", methods=["POST"])
@login_required
def withdraw(reference: str, handoff_id: int):
    form = forms.WithdrawForm()
    _handoff_row, receiver, _sender = _handoff(reference, handoff_id)
    return _run(
        reference, form, f"Withdrew the handoff of case {reference} to {receiver}.",
        ops.withdraw_handoff, to_agency=receiver, reason=form.reason.data or None,
    )


@bp.route("/ownerships/<int:ownership_id>/end", methods=["POST"])
@login_required
def end_ownership(reference: str, ownership_id: int):
    form = forms.EndForm()
    ownership, agency = _ownership(reference, ownership_id)
    return _run(
        reference, form, f"Ended {agency}'s {ownership.role} of case {reference} today.",
        ops.end_ownership, agency=agency, role=ownership.role, reason=form.reason.data or None,
    )


@bp.route("/ownerships/<int:ownership_id>/officer", methods=["POST"])
@login_required
def assign_officer(reference: str, ownership_id: int):
    form = forms.OfficerForm()
    ownership, agency = _ownership(reference, ownership_id)
    return _run(
        reference, form, f"{form.officer.data} is now {agency}'s officer for case {reference}.",
        ops.assign_officer, agency=agency, role=ownership.role, officer=form.officer.data or "",
    )


@bp.route("/flags/<int:flag_id>/acknowledge", methods=["POST"])
@login_required
def acknowledge(reference: str, flag_id: int):
    form = forms.AcknowledgeForm()
    session = get_session()
    case = case_or_404(session, current_user, reference)
    flag = session.get(Flag, flag_id)
    if flag is None or flag.case_id != case.id:
        abort(404)

    def acknowledge_today(uow, *, case, on, **values):
        return ops.acknowledge_flag(uow, flag_id=flag_id, on=on, **values)

    snooze = form.snooze_until.data
    done = f"Acknowledged the {flag.rule} flag" + (f", snoozed until {snooze}." if snooze else ".")
    return _run(reference, form, done, acknowledge_today, note=form.note.data or "",
                snooze_until=snooze)


@bp.route("/close", methods=["POST"])
@login_required
def close(reference: str):
    form = forms.CloseForm()
    return _run(reference, form, f"Closed case {reference} today.", ops.close_case,
                reason=form.reason.data or None)
