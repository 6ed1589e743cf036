"""The operations on agencies' API tokens: create one, revoke one, note its use.

A token is a random secret shown once, when it is created; only its SHA-256 is stored, so a
copy of the database cannot be replayed against the API. A token acts for exactly one agency
(`token_actor`), so the journey operations themselves refuse what that agency may not do. Its
scope says whether it only reads (`read`) or also posts events (`read-write`), and it expires
after `expires_in_days` (a year unless chosen otherwise).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from gapwatch import clock
from gapwatch.errors import Conflict, InvalidInput, NotFound
from gapwatch.models import Agency, ApiToken, TokenScope
from gapwatch.operations.unit import Actor, UnitOfWork, choice

PREFIX = "gw_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
DEFAULT_DAYS = 365
MAX_DAYS = 3 * 365


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_actor(token: ApiToken, agency_code: str) -> Actor:
    """Return the actor a token acts as: its agency, and nothing more (nor writes, if it reads)."""
    return Actor(name=f"token:{agency_code}/{token.name}", agency=agency_code, token=True,
                 read_only=token.scope != TokenScope.read_write)


def expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= clock.now()


def _active_named(uow: UnitOfWork, name: str) -> ApiToken | None:
    return uow.session.execute(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()


def create_token(uow: UnitOfWork, *, agency: str, name: str | None = None,
                 scope: str = TokenScope.read_write.value,
                 expires_in_days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """Create a token for `agency`; return it with its secret, which is never stored."""
    uow.require_agency(None, "manage API tokens")
    scope = choice(scope, TokenScope, "scope").value
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidInput(f"a token expires after 1 to {MAX_DAYS} days, not {expires_in_days!r}",
                           field="expires_in_days")
    owner = uow.agency(agency)
    if not owner.active:
        raise Conflict(f"agency {agency} is inactive and cannot be given a token", field="agency")
    token_id = uow.new_id(ApiToken)
    name = (name or f"{agency.lower()}-{token_id}").strip()
    if not NAME.fullmatch(name) or name.isdigit():
        raise InvalidInput(
            f"token name {name!r} must be 1-100 letters, digits, dots, hyphens or underscores, "
            "not only digits",
            field="name",
        )
    if _active_named(uow, name) is not None:
        raise Conflict(f"an active token named {name!r} already exists", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        id=token_id, agency_id=owner.id, name=name, token_hash=token_hash(secret),
        scope=scope, created_at=now, expires_at=now + timedelta(days=expires_in_days),
    )
    uow.session.add(token)
    uow.audit("token.created", token=token_id, name=name, agency=agency, scope=scope,
              expires_at=token.expires_at)
    return token, secret


def revoke_token(uow: UnitOfWork, *, token: str | int) -> ApiToken:
    """Revoke a token, named by its id or its name; it stops working at once."""
    uow.require_agency(None, "manage API tokens")
    key = str(token).strip()
    found = uow.session.get(ApiToken, int(key)) if key.isdigit() else _active_named(uow, key)
    if found is None:
        raise NotFound(f"no active API token with id or name {key!r}", field="token")
    if found.revoked_at is not None:
        raise Conflict(f"API token {found.name!r} was already revoked on "
                       f"{found.revoked_at:%Y-%m-%d %H:%M}", field="token")
    found.revoked_at = clock.now()
    agency = uow.agency_by_id(found.agency_id)
    uow.audit("token.revoked", token=found.id, name=found.name, agency=agency.code)
    return found


def note_token_use(uow: UnitOfWork, *, token: ApiToken) -> None:
    """Record when a token was last used (not audited: each call audits itself)."""
    uow.session.get(ApiToken, token.id).last_used_at = clock.now()


def find_token(session: Session, secret: str) -> tuple[ApiToken, Agency] | None:
    """Return the unrevoked token with this secret and its agency (expired or not), or None."""
    if not secret.startswith(PREFIX):
        return None
    row = session.execute(
        select(ApiToken, Agency)
        .join(Agency, Agency.id == ApiToken.agency_id)
        .where(ApiToken.token_hash == token_hash(secret), ApiToken.revoked_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def list_tokens(session: Session) -> list[tuple[ApiToken, Agency]]:
    """Return every token with its agency, newest first."""
    rows = session.execute(
        select(ApiToken, Agency)
        .join(Agency, Agency.id == ApiToken.agency_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    return [(t, a) for t, a in rows]
