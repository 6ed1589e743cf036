"""The actions on a case: each a posted form that runs one domain operation as the signed-in user.

The operations decide who may do what (the receiver accepts or rejects, the sender withdraws,
an auditor changes nothing). A refusal keeps the person where they were: the page the form came
from (the case page, or the dashboard when the form said so in `next`) is shown again with the
operation's HTTP status, an error summary and the message at its field, the form open and what
they typed kept; the page's script then puts the page's own address in the browser's history,
so a reload reads the page instead of posting again. Success redirects (303) to the case page,
or to `next`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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
from gapwatch.web.dashboard import render_refused

bp = Blueprint("actions", __name__, url_prefix="/cases/<reference>")


def _refusal(form: forms.ActionForm, main: str, place: str, errors: dict[str, str]) -> forms.Refused:
    """Say which of the page's forms was refused, with its errors at its own fields."""
    posted = form.place.data or ""
    place = posted if forms.PLACE.fullmatch(posted) else place
    fields = {name: value for name, value in form.data.items()
              if name not in ("csrf_token", "next", "place")}
    at_fields = {}
    for name, message in errors.items():
        where = name if name in fields else main  # a refusal of the whole action: its main field
        at_fields[where] = "; ".join(filter(None, (at_fields.get(where), message)))
    days = frozenset(name for name in fields if isinstance(getattr(form, name), forms.DayField))
    values = {name: getattr(form, name).parts if name in days else value
              for name, value in fields.items()}
    return forms.Refused(place, at_fields, values, days)


def _refused(case_reference: str, form: forms.ActionForm, refusal: forms.Refused, status: int):
    """Show the page the form was on again, with the refusal at its field (or, when the form is
    no longer on it, in the error summary alone)."""
    if form.next.data and urlsplit(form.next.data).path == url_for("dashboard.index"):
        page, status = render_refused(refusal, status)
    else:
        page, status = render_case(case_reference, status, refused=refusal)
    return forms.unlink_missing(page, refusal), status


def _run(reference: str, form: forms.ActionForm, done, operation, main: str, place: str,
         **values):
    """Run `operation` on the case today; on success flash `done` (or what `done(result)` says
    of the operation's result) and redirect, else stay."""
    session = get_session()
    case = case_or_404(session, current_user, reference)
    if not form.validate():
        errors = {name: sentence(getattr(form, name).label.text, messages)
                  for name, messages in form.errors.items()}
        return _refused(case.reference, form, _refusal(form, main, place, errors), 400)
    try:
        with ops.unit_of_work(session, current_user.actor) as uow:
            result = operation(uow, case=case.reference, on=clock.today(), **values)
    except DomainError as error:
        refusal = _refusal(form, main, place, {error.field or main: capital(error.message)})
        return _refused(case.reference, form, refusal, error.status)
    flash(done if isinstance(done, str) else done(result), "info")
    fallback = url_for("cases.show", reference=case.reference)
    target = safe_next(form.next.data, fallback) if form.next.data else fallback
    return redirect(target, 303)


def capital(message: str) -> str:
    return message[:1].upper() + message[1:]


def sentence(label: str, messages: list[str]) -> str:
    """Say a field's validation errors as one sentence that names the field by its label."""
    said = "; ".join(messages)
    if said.lower().startswith(("the ", label.lower().split(" (")[0].lower())):
        return capital(said)
    if said == "This field is required.":
        return f"Enter {label.split(' (')[0].lower()}"
    return f"{label.split(' (')[0]}: {said}"


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
        ops.request_handoff, "to_agency", "request", from_agency=sender, to_agency=form.to_agency.data,
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
    def done(ownership: Ownership) -> str:
        return (f"{agency} now supervises case {reference}, with {form.officer.data} as "
                f"officer{_until(ownership)}.")

    return _run(reference, form, done, ops.take_supervision, "officer", "take", agency=agency,
                officer=form.officer.data)


def _until(ownership: Ownership | None) -> str:
    """Say when an interim ownership ends, as its reason says why (`start_ownership`: "until
    WMIDS takes over"), or nothing."""
    if ownership is None or ownership.ends_on is None:
        return ""
    return f", {ownership.ended_reason} on {clock.long_day(ownership.ends_on)}"


@bp.route("/handoffs/<int:handoff_id>/accept", methods=["POST"])
@login_required
def accept(reference: str, handoff_id: int):
    form = forms.AcceptForm()
    handoff, receiver, _sender = _handoff(reference, handoff_id)
    # The receiver's ownership starts on the due day, or today if that is later
    # (`accept_handoff`): the banner says which, since a transfer due next week is not yet theirs.
    today = clock.today()
    starts = max(today, handoff.due_on or today)
    when = "today" if starts == today else f"on {clock.long_day(starts)}"
    def done(accepted: Handoff) -> str:
        ownership = get_session().execute(
            select(Ownership).where(Ownership.handoff_id == accepted.id)).scalar()
        return (f"Accepted: {receiver} takes {handoff.role} of case {reference}, starting "
                f"{when}{_until(ownership)}.")

    return _run(
        reference, form, done, ops.accept_handoff, "officer", f"accept-{handoff_id}",
        to_agency=receiver, officer=(form.officer.data or "").strip() or None,
    )


@bp.route("/handoffs/<int:handoff_id>/reject", methods=["POST"])
@login_required
def reject(reference: str, handoff_id: int):
    form = forms.RejectForm()
    _handoff_row, receiver, sender = _handoff(reference, handoff_id)
    return _run(
        reference, form, f"Rejected the handoff of case {reference}; {sender or 'the sender'} "
        "will see your reason.",
        ops.reject_handoff, "reason", f"reject-{handoff_id}", to_agency=receiver, reason=form.reason.data or "",
    )


@bp.route("/handoffs/<int:handoff_id>/withdraw", methods=["POST"])
@login_required
def withdraw(reference: str, handoff_id: int):
    form = forms.WithdrawForm()
    _handoff_row, receiver, _sender = _handoff(reference, handoff_id)
    return _run(
        reference, form, f"Withdrew the handoff of case {reference} to {receiver}.",
        ops.withdraw_handoff, "reason", f"withdraw-{handoff_id}", to_agency=receiver, reason=form.reason.data or None,
    )


@bp.route("/ownerships/<int:ownership_id>/end", methods=["POST"])
@login_required
def end_ownership(reference: str, ownership_id: int):
    form = forms.EndForm()
    ownership, agency = _ownership(reference, ownership_id)
    return _run(
        reference, form, f"Ended {agency}'s {ownership.role} of case {reference} today.",
        ops.end_ownership, "reason", f"end-{ownership_id}", agency=agency, role=ownership.role, reason=form.reason.data or None,
    )


@bp.route("/ownerships/<int:ownership_id>/officer", methods=["POST"])
@login_required
def assign_officer(reference: str, ownership_id: int):
    form = forms.OfficerForm()
    ownership, agency = _ownership(reference, ownership_id)
    return _run(
        reference, form, f"{form.officer.data} is now {agency}'s officer for case {reference}.",
        ops.assign_officer, "officer", f"officer-{ownership_id}", agency=agency, role=ownership.role, officer=form.officer.data or "",
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
    done = f"Acknowledged the {flag.rule} flag" + (f", quiet until {clock.long_day(snooze)}." if snooze else ".")
    return _run(reference, form, done, acknowledge_today, "note", f"acknowledge-{flag_id}", note=form.note.data or "",
                snooze_until=snooze, seen=form.seen.data)


@bp.route("/close", methods=["POST"])
@login_required
def close(reference: str):
    form = forms.CloseForm()
    return _run(reference, form, f"Closed case {reference} today.", ops.close_case, "reason", "close",
                reason=form.reason.data or None)
