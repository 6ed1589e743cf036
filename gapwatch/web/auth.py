"""Signing in and out, and changing one's own password."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.extensions import login_manager
from gapwatch.models import Agency, User
from gapwatch.operations.users import MIN_PASSWORD
from gapwatch.web.access import Account

bp = Blueprint("auth", __name__)
SIGNED_IN_AT = "signed_in_at"
CLOCK_SKEW = 300  # seconds


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD)])
    repeat = PasswordField("Repeat the new password",
                           validators=[DataRequired(), EqualTo("new", "The passwords differ.")])


# Every signed-in request runs this: the columns an Account needs, not User and Agency objects.
ACCOUNT_QUERY = (
    select(User.id, User.email, User.role, User.agency_id, Agency.code, User.password_changed_at)
    .outerjoin(Agency, Agency.id == User.agency_id)
    .where(User.id == bindparam("user_id"), User.active)
)


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    ident, _, stamp = user_id.partition(":")
    if not ident.isdigit() or not signed_in_lately():
        return None
    row = get_session().connection().execute(ACCOUNT_QUERY, {"user_id": int(ident)}).first()
    if row is None:
        return None
    account = Account(row.id, row.email, row.role, row.agency_id, row.code,
                      Account.stamp_of(row.password_changed_at))
    return account if account.stamp == stamp else None


@login_manager.unauthorized_handler
def sign_in_first():
    """Send a signed-out request to the sign-in page, and back to where it was going after.

    A dashboard queue's minute-by-minute HTMX refresh must not get the sign-in page swapped into
    the queue: it is told to send the whole page there instead (`HX-Redirect`).
    """
    if request.headers.get("HX-Request"):
        here = urlsplit(request.headers.get("HX-Current-URL", ""))
        target = safe_next(here.path + (f"?{here.query}" if here.query else ""), "/")
        response = current_app.response_class("", 200)
        response.headers["HX-Redirect"] = url_for("auth.login", next=target)
        return response
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=safe_next(request.full_path.rstrip("?"))))


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """Follow `next` only within this site, never to another host."""
    fallback = fallback or url_for("dashboard.index")
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 for c in target):
        return fallback
    return target


def sign_in(account: Account) -> None:
    """Sign the account in for PERMANENT_SESSION_LIFETIME, after which it must sign in again."""
    web_session.permanent = True
    web_session[SIGNED_IN_AT] = int(time.time())
    login_user(account)


def signed_in_lately() -> bool:
    """Whether this session signed in less than PERMANENT_SESSION_LIFETIME ago.

    The cookie's own expiry moves on whenever the session changes (a message shown, a form's
    token made), so the limit is counted from the sign-in itself: working all day does not keep
    a session alive past it.
    """
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    started = web_session.get(SIGNED_IN_AT)
    # A few minutes' grace backwards: workers on other hosts may keep slightly different time.
    if isinstance(started, int) and -CLOCK_SKEW <= time.time() - started <= lifetime:
        return True
    if started is not None:
        web_session.clear()
        flash("You were signed in for more than a working day: please sign in again.", "info")
    return False


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        # It decides (the failure count is read, then written) but changes nothing a kept
        # dashboard shows: renewing the stamp would let anyone empty the cache by failing.
        with ops.unit_of_work(session, ops.Actor(name="web:login"), renews_stamp=False) as uow:
            user = ops.attempt_login(uow, email=form.email.data, password=form.password.data)
        if user is not None:
            agency = session.get(Agency, user.agency_id) if user.agency_id else None
            sign_in(Account.of(user, agency))
            return redirect(safe_next(request.args.get("next")))
        flash("That email and password do not match, or the account is locked for a while "
              "after repeated failures.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        session = get_session()
        actor = ops.Actor(name=f"user:{current_user.email}")
        try:
            with ops.unit_of_work(session, actor) as uow:
                if ops.attempt_login(uow, email=current_user.email,
                                     password=form.current.data) is None:
                    raise DomainError("The current password is not right.")
                user = ops.set_password(uow, email=current_user.email, password=form.new.data)
            sign_in(Account.of(user, session.get(Agency, user.agency_id) if user.agency_id else None))
            flash("Your password is changed; other sessions are signed out.", "info")
            return redirect(url_for("dashboard.index"))
        except DomainError as error:
            flash(error.message, "error")
    return render_template("auth/password.html", form=form)
