"""The operations on user accounts: create, disable, reset a password, record a login."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from gapwatch import clock
from gapwatch.errors import Conflict, InvalidInput, NotFound
from gapwatch.models import User, UserRole
from gapwatch.operations.unit import UnitOfWork, choice

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10
LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD} characters", field="password"
        )


def find_user(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.exec(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()


def add_user(
    uow: UnitOfWork, *, email: str, role: str, password: str, agency: str | None = None
) -> User:
    """Create an account; a case manager belongs to exactly one agency."""
    uow.require_agency(None, "manage users")
    email = (email or "").strip().lower()
    if not EMAIL.fullmatch(email):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    role = choice(role, UserRole, "role").value
    if role == UserRole.case_manager and not agency:
        raise InvalidInput("a case manager needs an agency (--agency CODE)", field="agency")
    home = uow.agency(agency) if agency else None
    _check_password(password)
    if find_user(uow, email) is not None:
        raise Conflict(f"a user {email} already exists", field="email")
    user = User(
        id=uow.new_id(User),
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        agency_id=home.id if home else None,
        created_at=clock.now(),
        password_changed_at=clock.now(),
    )
    uow.session.add(user)
    uow.audit("user.created", email=email, role=role, agency=agency)
    return user


def _user(uow: UnitOfWork, email: str) -> User:
    user = find_user(uow, email)
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    return user


def set_password(uow: UnitOfWork, *, email: str, password: str) -> User:
    """Set a user's password and lift any lockout."""
    user = _user(uow, email)
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.password_changed_at = clock.now()
    user.failed_logins = 0
    user.locked_until = None
    uow.audit("user.password_set", email=user.email)
    return user


def set_active(uow: UnitOfWork, *, email: str, active: bool) -> User:
    uow.require_agency(None, "manage users")
    user = _user(uow, email)
    if user.active != active:
        user.active = active
        uow.audit("user.enabled" if active else "user.disabled", email=user.email)
    return user


def attempt_login(uow: UnitOfWork, *, email: str, password: str) -> User | None:
    """Check a password, counting failures in the database so a lockout holds across workers."""
    user = find_user(uow, email or "")
    now = clock.now()
    if user is None or not user.active:
        uow.audit("login.failed", email=(email or "").strip().lower(), why="unknown or disabled")
        return None
    if user.locked_until is not None and user.locked_until > now:
        uow.audit("login.refused", email=user.email, why="locked", until=user.locked_until)
        return None
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER_FAILURES:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
        uow.audit("login.failed", email=user.email, why="wrong password",
                  locked_until=user.locked_until)
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    uow.audit("login.succeeded", email=user.email)
    return user
