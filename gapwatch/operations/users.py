"""The operations on user accounts: create, disable, reset a password, record a login.

Passwords follow ASVS 4.0 section 2.1: 12 to 128 characters of any kind, no composition rules,
and none of the common passwords of `gapwatch/data/common_passwords.txt`. Repeated failures are
throttled per account and per client by the sign-in page (`gapwatch.web.auth`), not locked:
a lockout would let anyone lock the only administrator out.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from gapwatch import clock
from gapwatch.errors import Conflict, InvalidInput, NotFound
from gapwatch.models import User, UserRole
from gapwatch.operations.unit import UnitOfWork, choice

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL = 254  # RFC 5321's longest address; longer input is cut before it is audited
MIN_PASSWORD = 12
MAX_PASSWORD = 128
# werkzeug's method for new hashes: scrypt at its default cost (2**15), about 0.1 s of CPU a
# hash on purpose. The tests hash with a cheaper cost; a check reads the cost from the hash.
HASHING = "scrypt"


@cache
def common_passwords() -> frozenset[str]:
    """Return the blocklist, read once from the package's data file."""
    text = resources.files("gapwatch").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@cache
def _dummy_hash() -> str:
    # Checked against when the account is unknown, so that a sign-in costs the same either way
    # and its timing does not tell which emails have accounts.
    return generate_password_hash("no account has this password", method=HASHING)


def check_password(password: str) -> None:
    """Refuse a password outside ASVS 2.1's policy, saying which rule it breaks."""
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD} characters", field="password")
    folded = password.casefold()
    if folded in common_passwords() or len(set(folded)) == 1:
        raise InvalidInput("that password is one of the most common ones: choose another",
                           field="password")


def bounded_email(email: str | None) -> str:
    """Return the email as compared and audited: trimmed, lower case, at most MAX_EMAIL long."""
    return (email or "").strip().lower()[:MAX_EMAIL]


def find_user(uow: UnitOfWork, email: str) -> User | None:
    return uow.session.exec(
        select(User).where(User.email == bounded_email(email))
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
    check_password(password)
    if find_user(uow, email) is not None:
        raise Conflict(f"a user {email} already exists", field="email")
    user = User(
        id=uow.new_id(User),
        email=email,
        password_hash=generate_password_hash(password, method=HASHING),
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
    """Set a user's password; every session the user had ends."""
    user = _user(uow, email)
    check_password(password)
    user.password_hash = generate_password_hash(password, method=HASHING)
    user.password_changed_at = clock.now()
    user.session_generation += 1
    uow.audit("user.password_set", email=user.email)
    return user


def set_active(uow: UnitOfWork, *, email: str, active: bool) -> User:
    """Enable or disable an account; disabling ends every session the user had."""
    uow.require_agency(None, "manage users")
    user = _user(uow, email)
    if user.active != active:
        user.active = active
        user.session_generation += 1
        uow.audit("user.enabled" if active else "user.disabled", email=user.email)
    return user


def end_sessions(uow: UnitOfWork, *, user_id: int) -> None:
    """Sign the user out everywhere: every session made so far stops at its next request."""
    user = uow.session.get(User, user_id)
    if user is not None:
        user.session_generation += 1
        uow.audit("user.signed_out", email=user.email)


def attempt_login(uow: UnitOfWork, *, email: str, password: str) -> User | None:
    """Check a password at the same cost whether or not the account exists."""
    email, password = bounded_email(email), password or ""
    user = find_user(uow, email) if EMAIL.fullmatch(email) else None
    if len(password) > MAX_PASSWORD:
        password = ""  # no account has it; hashing a megabyte would cost more than a check
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        uow.audit("login.failed", email=email, why="unknown or disabled")
        return None
    if not check_password_hash(user.password_hash, password):
        uow.audit("login.failed", email=user.email, why="wrong password")
        return None
    user.last_login_at = clock.now()
    uow.audit("login.succeeded", email=user.email)
    return user
