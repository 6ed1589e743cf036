"""The administrators' page for agencies' API tokens: create one (its secret is shown once), revoke one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency
from gapwatch.operations.tokens import DEFAULT_DAYS, list_tokens
from gapwatch.web.access import admins_only

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")


class TokenForm(FlaskForm):
    agency = SelectField("Agency", validators=[DataRequired()])
    name = StringField("Name (letters, digits, . _ -; empty: one is made up)",
                       validators=[Optional(), Length(max=100)])
    scope = SelectField("Scope", choices=[
        SelectChoice("read-write", "read-write (post events and read)"),
        SelectChoice("read", "read (only read cases, journeys, flags)")])
    expires_in_days = SelectField("Expires after", coerce=int, default=DEFAULT_DAYS, choices=[
        SelectChoice(30, "30 days"), SelectChoice(90, "90 days"), SelectChoice(365, "a year")])


class RevokeForm(FlaskForm):
    pass


bp.before_request(admins_only)


def _page(form: TokenForm, *, secret: str | None = None, created=None, status: int = 200):
    return render_template(
        "tokens/index.html", form=form, revoke=RevokeForm(formdata=None),
        rows=list_tokens(get_session()), secret=secret, created=created,
    ), status


def _token_form(**values) -> TokenForm:
    form = TokenForm(**values)
    form.agency.choices = [
        (code, f"{code} · {name}")
        for code, name in get_session().execute(
            select(Agency.code, Agency.name).where(Agency.active).order_by(Agency.code)
        ).all()
    ]
    return form


@bp.route("", methods=["GET", "POST"])
def index():
    form = _token_form()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.is_submitted() else 200)
    try:
        with ops.unit_of_work(get_session(), current_user.actor) as uow:
            token, secret = ops.create_token(uow, agency=form.agency.data,
                                             name=form.name.data or None, scope=form.scope.data,
                                             expires_in_days=form.expires_in_days.data)
    except DomainError as error:
        flash(f"Not created: {error.message}.", "error")
        return _page(form, status=error.status)
    # The secret is in this one response and nowhere else: it is not stored, nor flashed.
    return _page(_token_form(formdata=None, agency=form.agency.data), secret=secret, created=token)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int):
    if not RevokeForm().validate_on_submit():
        abort(400)
    try:
        with ops.unit_of_work(get_session(), current_user.actor) as uow:
            token = ops.revoke_token(uow, token=token_id)
        flash(f"Token {token.name} is revoked; calls with it now get 401.", "info")
    except DomainError as error:
        flash(f"Not revoked: {error.message}.", "error")
    return redirect(url_for("tokens.index"), 303)
