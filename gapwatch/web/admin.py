"""Administration: agencies (with their alert addresses), contracts and user accounts.

Only admins reach these pages; every change is a domain operation, audited like any other.
The outbox and API token pages of other features hang off the same admin menu when present.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import aliased
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency, AgencyKind, Contract, Severity, User, UserRole
from gapwatch.web.access import admins_only
from gapwatch.web.forms import DayField, bounded_day, plain_text

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Pages of other features listed in the admin menu when their blueprint is registered.
ELSEWHERE = (("outbox.index", "Mail outbox"), ("tokens.index", "API tokens"))


def _addresses(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").replace(";", ",").replace("\n", ",").split(",") if a.strip()]


class AgencyForm(FlaskForm):
    code = StringField("Code (capitals, digits, hyphens)", validators=[DataRequired(), Length(max=32)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200), plain_text])
    kind = SelectField("Kind", choices=[(k.value, k.value) for k in AgencyKind])
    region = StringField("Region", validators=[Optional(), Length(max=100), plain_text])
    alert_emails = StringField("Duty inbox addresses (comma-separated)",
                               validators=[Optional(), Length(max=2000)])
    alert_severities = SelectMultipleField(
        "Severities in the daily digest", choices=[(s.value, s.value) for s in Severity],
        option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
    )
    escalation_emails = StringField("Escalation addresses (comma-separated)",
                                    validators=[Optional(), Length(max=2000)])
    active = BooleanField("Active (can take cases)", default=True)


class ContractForm(FlaskForm):
    provider = SelectField("Provider", validators=[DataRequired()])
    commissioner = SelectField("Commissioner", validators=[DataRequired()])
    service = StringField("Service", validators=[DataRequired(), Length(max=100), plain_text])
    starts_on = DayField("First day", validators=[DataRequired(message="Enter the first day"),
                                                 bounded_day], called="the first day")
    ends_on = DayField("Last day (empty: open-ended)", validators=[Optional(), bounded_day],
                       called="the last day")


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=[(r.value, r.value.replace("_", " ")) for r in UserRole])
    agency = SelectField("Agency (case managers)", validators=[Optional()])
    password = PasswordField("First password (12 to 128 characters, not a common one)",
                             validators=[DataRequired()])


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired()])


class ActiveForm(FlaskForm):
    pass


bp.before_request(admins_only)


def _save(done: str, operation, **values) -> DomainError | None:
    """Run one operation as the admin; flash what happened, or return why it was refused."""
    try:
        with ops.unit_of_work(get_session(), current_user.actor) as uow:
            operation(uow, **values)
    except DomainError as error:
        flash(f"Not saved: {error.message}.", "error")
        return error
    flash(done, "info")
    return None


def _agency_codes() -> list[tuple[str, str]]:
    rows = get_session().execute(select(Agency.code, Agency.name).order_by(Agency.code)).all()
    return [(code, f"{code} · {name}") for code, name in rows]


@bp.route("/")
def index():
    others = [(endpoint, label) for endpoint, label in ELSEWHERE
              if endpoint in current_app.view_functions]
    return render_template("admin/index.html", others=others, **_operations())


def _operations() -> dict:
    """What the operations panel shows: heartbeat, last completed scan, outbox, today's run."""
    from gapwatch import db, health

    engine = db.get_engine()
    counts, oldest = health.outbox_state(get_session())
    return {
        "beat": health.last_beat(engine), "scan": health.last_completed_scan(engine),
        "outbox": counts, "oldest_pending": oldest,
        "daily": health.daily(engine, current_app.config),
        "heartbeat": health.heartbeat(engine, current_app.config),
    }


@bp.route("/agencies", methods=["GET", "POST"])
@bp.route("/agencies/<code>", methods=["GET", "POST"])
def agencies(code: str | None = None):
    session = get_session()
    agency = None
    if code is not None:
        agency = session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()
        if agency is None:
            abort(404)
    form = AgencyForm(obj=agency) if agency else AgencyForm()
    if agency is not None and not form.is_submitted():
        form.alert_emails.data = ", ".join(agency.alert_emails)
        form.escalation_emails.data = ", ".join(agency.escalation_emails)
    elif agency is None and not form.is_submitted():
        form.alert_severities.data = [s.value for s in Severity]
    status = 200
    if form.validate_on_submit():
        values = dict(
            # The URL names the agency being edited; a posted code only names a new one.
            code=agency.code if agency else form.code.data.strip(), name=form.name.data.strip(), kind=form.kind.data,
            region=(form.region.data or "").strip(), alert_emails=_addresses(form.alert_emails.data),
            alert_severities=form.alert_severities.data or [],
            escalation_emails=_addresses(form.escalation_emails.data), active=form.active.data,
        )
        refused = _save(f"Saved agency {values['code']}.", ops.save_agency, **values)
        if refused is None:
            return redirect(url_for("admin.agencies"), 303)
        status = refused.status
    elif form.is_submitted():
        status = 400
    rows = session.execute(select(Agency).order_by(Agency.region, Agency.code)).scalars().all()
    return render_template("admin/agencies.html", form=form, agency=agency, rows=rows), status


@bp.route("/contracts", methods=["GET", "POST"])
def contracts():
    session = get_session()
    form = ContractForm()
    form.provider.choices = form.commissioner.choices = _agency_codes()
    status = 200
    if form.validate_on_submit():
        refused = _save(f"Saved the {form.service.data} contract.", ops.save_contract,
                 provider=form.provider.data, commissioner=form.commissioner.data,
                 service=form.service.data.strip(), starts_on=form.starts_on.data,
                 ends_on=form.ends_on.data)
        if refused is None:
            return redirect(url_for("admin.contracts"), 303)
        status = refused.status
    elif form.is_submitted():
        status = 400
    provider, commissioner = aliased(Agency), aliased(Agency)
    rows = session.execute(
        select(Contract, provider.code, commissioner.code)
        .join(provider, provider.id == Contract.provider_id)
        .join(commissioner, commissioner.id == Contract.commissioner_id)
        .order_by(provider.code, Contract.starts_on)
    ).all()
    return render_template("admin/contracts.html", form=form, rows=rows), status


@bp.route("/users", methods=["GET", "POST"])
def users():
    session = get_session()
    form = UserForm()
    form.agency.choices = [("", "(none)")] + _agency_codes()
    status = 200
    if form.validate_on_submit():
        refused = _save(f"Created {form.email.data}.", ops.add_user, email=form.email.data,
                 role=form.role.data, password=form.password.data, agency=form.agency.data or None)
        if refused is None:
            return redirect(url_for("admin.users"), 303)
        status = refused.status
    elif form.is_submitted():
        status = 400
    rows = session.execute(
        select(User, Agency.code).outerjoin(Agency, Agency.id == User.agency_id).order_by(User.email)
    ).all()
    return render_template("admin/users.html", form=form, rows=rows, reset=PasswordResetForm(formdata=None),
                           toggle=ActiveForm(formdata=None)), status


def _user_email(user_id: int) -> str:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user.email


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int):
    email = _user_email(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = not get_session().get(User, user_id).active
    _save(f"{email} is {'enabled' if active else 'disabled'}.", ops.set_active, email=email,
          active=active)
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):
    email = _user_email(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        _save(f"New password set for {email}; their sessions are ended.", ops.set_password,
              email=email, password=form.password.data)
    else:
        flash("Not saved: a new password is required.", "error")
    return redirect(url_for("admin.users"), 303)
