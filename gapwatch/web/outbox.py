"""The mail outbox for admins: what is pending, failing (with the error) and sent; resend one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.alerts import outbox
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.web.access import admins_only

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")


class ResendForm(FlaskForm):
    """A button: the CSRF token is its only field."""


bp.before_request(admins_only)


@bp.route("/")
def index():
    rows = outbox.listing(get_session())
    return render_template("outbox/index.html", rows=rows, form=ResendForm(), now=clock.now())


@bp.route("/<int:message>/resend", methods=["POST"])
def resend(message: int):
    if not ResendForm().validate_on_submit():
        abort(400)
    try:
        with ops.unit_of_work(get_session(), current_user.actor) as uow:
            row = outbox.resend(uow, message=message)
        flash(f"The {row.kind} of {clock.long_day(row.day)} is queued to be sent: the next "
              "retry run sends it (every few minutes, or `gapwatch alerts send`).", "info")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("outbox.index"))
