"""Administration: agencies (with their alert addresses), contracts, user accounts and persons'
identifiers.

Only admins reach these pages; every change is a domain operation, audited like any other.
The outbox and API token pages of other features hang off the same admin menu when present.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency, AgencyKind, Contract, Person, Severity, User, UserRole
from gapwatch.operations.identity import identifiers_of
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
    kind = SelectField("Kind", choices=[SelectChoice(k.value) for k in AgencyKind])
    region = StringField("Region", validators=[Optional(), Length(max=100), plain_text])
    alert_emails = StringField("Duty inbox addresses (comma-separated)",
                               validators=[Optional(), Length(max=2000)])
    alert_severities = SelectMultipleField(
        "Severities in the daily digest", choices=[SelectChoice(s.value) for s in Severity],
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
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.replace("_", " "))
                                        for r in UserRole])
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


# -- a person's identifiers ---------------------------------------------------------------------
class IdentifierForm(FlaskForm):
    scheme = SelectField("Scheme", validators=[DataRequired()])
    value = StringField("Value", validators=[DataRequired(), Length(max=64), plain_text])


class FindPersonForm(FlaskForm):
    class Meta:
        csrf = False  # a search by GET changes nothing

    reference = StringField("Person reference", validators=[DataRequired(), Length(max=64)])


def _schemes() -> list[tuple[str, str]]:
    described = [("noms", "noms · prison number (A1234BC)"),
                 ("crn", "crn · case reference number (X123456)"),
                 ("pnc", "pnc · Police National Computer id (2001/0123456F)")]
    rows = get_session().execute(select(Agency.code, Agency.name).order_by(Agency.code)).all()
    return described + [(f"local:{code}", f"local:{code} · {name}'s own reference")
                        for code, name in rows]


@bp.route("/persons")
def find_person():
    """Find a person by reference, to edit their identifiers."""
    form = FindPersonForm(formdata=request.args or None)
    if request.args and form.validate():
        reference = form.reference.data.strip()
        return redirect(url_for("admin.identifiers", reference=reference), 303)
    return render_template("admin/identifiers.html", find=form, person=None)


@bp.route("/persons/<reference>/identifiers", methods=["GET", "POST"])
def identifiers(reference: str):
    """Add, change and remove a person's identifiers, each through `change_identifier`.

    A restricted person's values are withheld here too (admins may not open their details): an
    admin still sees which schemes they hold, and may set or remove one.
    """
    session = get_session()
    person = session.execute(select(Person).where(Person.reference == reference)).scalar_one_or_none()
    if person is None:
        abort(404)
    form = IdentifierForm()
    form.scheme.choices = _schemes()
    status = 200
    if form.validate_on_submit():
        refused = _save(f"Saved {form.scheme.data} for person {reference}.",
                        ops.change_identifier, person=reference, scheme=form.scheme.data,
                        value=form.value.data)
        if refused is None:
            return redirect(url_for("admin.identifiers", reference=reference), 303)
        form.value.errors = [refused.message]
        status = refused.status
    elif form.is_submitted():
        status = 400
    held = identifiers_of(session, [person.id])[person.id]
    ops.record_read(session, current_user.actor, "person.identifiers_viewed",
                    person=reference, details_shown=not person.restricted)
    return render_template("admin/identifiers.html", person=person, held=held, form=form,
                           remove=ActiveForm(formdata=None), find=None), status


@bp.route("/persons/<reference>/identifiers/remove", methods=["POST"])
def remove_identifier(reference: str):
    form = ActiveForm()
    scheme = request.form.get("scheme", "")
    if not form.validate_on_submit() or not scheme:
        abort(400)
    _save(f"Removed {scheme} from person {reference}.", ops.change_identifier,
          person=reference, scheme=scheme, value=None)
    return redirect(url_for("admin.identifiers", reference=reference), 303)
