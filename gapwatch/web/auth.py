"""Signing in and out, and changing one's own password.

A session ends after PERMANENT_SESSION_LIFETIME from signing in, after SESSION_IDLE_MINUTES
without use (the dashboard's own minute-by-minute refresh is not use), and at once everywhere
when the user signs out, changes their password or is disabled: the user's session generation,
part of every session's id, moves on. Failed sign-ins are throttled per account and per client
(Flask-Limiter), never locked.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as web_session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.extensions import limiter, login_manager
from gapwatch.models import Agency, User
from gapwatch.operations.users import MAX_PASSWORD, MIN_PASSWORD, bounded_email
from gapwatch.web.access import Account

bp = Blueprint("auth", __name__)
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
CLOCK_SKEW = 300  # seconds
SEEN_EVERY = 60  # seconds: note a session's use at most this often, not a new cookie a request
# Sent by the dashboard's timed refresh (static/gapwatch.js): it keeps no idle session alive.
POLL_HEADER = "X-Gapwatch-Poll"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)])
    repeat = PasswordField("Repeat the new password",
                           validators=[DataRequired(), EqualTo("new", "The passwords differ.")])


# Every signed-in request runs this: the columns an Account needs, not User and Agency objects.
ACCOUNT_QUERY = (
    select(User.id, User.email, User.role, User.agency_id, Agency.code, User.session_generation)
    .outerjoin(Agency, Agency.id == User.agency_id)
    .where(User.id == bindparam("user_id"), User.active)
)


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    ident, _, generation = user_id.partition(":")
    if not ident.isdigit() or len(ident) > 18 or not signed_in_lately() or not used_lately():
        return None
    row = get_session().connection().execute(ACCOUNT_QUERY, {"user_id": int(ident)}).first()
    if row is None:
        return None
    account = Account(row.id, row.email, row.role, row.agency_id, row.code,
                      str(row.session_generation))
    return account if account.stamp == generation else None


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
    flash(login_manager.login_message, "notice")
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
    web_session[SIGNED_IN_AT] = web_session[SEEN_AT] = int(time.time())
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
        flash("You were signed in for more than a working day: please sign in again.", "notice")
    return False


def used_lately() -> bool:
    """Whether this session was used in the last SESSION_IDLE_MINUTES; note this use if so."""
    now, seen = int(time.time()), web_session.get(SEEN_AT)
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    if isinstance(seen, int) and -CLOCK_SKEW <= now - seen <= idle:
        if now - seen >= SEEN_EVERY and not request.headers.get(POLL_HEADER):
            web_session[SEEN_AT] = now
        return True
    web_session.clear()
    flash(f"You were signed out after {current_app.config['SESSION_IDLE_MINUTES']} minutes "
          "without using gapwatch: please sign in again.", "notice")
    return False


def _per_account() -> str:
    return "login-account:" + bounded_email(request.form.get("email"))


def _per_client() -> str:
    return "login-client:" + get_remote_address()


def _failed(_response) -> bool:
    """Count a sign-in against the limits only when it failed."""
    return g.get("login_failed", False)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_per_account,
               methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_CLIENT"], key_func=_per_client,
               methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        # It records (the attempt, the last sign-in) and changes nothing a kept dashboard shows:
        # renewing the stamp would let anyone empty the cache by failing.
        with ops.unit_of_work(session, ops.Actor(name="web:login"), decides=False,
                              renews_stamp=False) as uow:
            user = ops.attempt_login(uow, email=form.email.data, password=form.password.data)
        if user is not None:
            agency = session.get(Agency, user.agency_id) if user.agency_id else None
            sign_in(Account.of(user, agency))
            return redirect(safe_next(request.args.get("next")))
        g.login_failed = True
        flash("That email and password do not match.", "error")
    elif request.method == "POST":
        g.login_failed = True
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    session = get_session()
    actor = ops.Actor(name=f"user:{current_user.email}")
    with ops.unit_of_work(session, actor, renews_stamp=False) as uow:
        ops.end_sessions(uow, user_id=current_user.id)
    logout_user()
    web_session.clear()
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
