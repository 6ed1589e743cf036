"""Who is calling: the bearer token of an agency's system, checked on every API request.

No cookies and no login session: each request carries `Authorization: Bearer <token>`. A
missing, unknown, revoked or expired token is a 401 with `WWW-Authenticate: Bearer`. The token's
actor acts for its agency only (`gapwatch.operations.tokens.token_actor`); a token of scope
`read` may only read: anything else it asks is a 403 naming the scope it would need.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import g, request

from gapwatch import operations as ops
from gapwatch.api.problems import Problem
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency, ApiToken, TokenScope
from gapwatch.operations.tokens import expired, find_token, token_actor

REALM = 'Bearer realm="gapwatch"'
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """The token making this request and the agency it acts for."""

    token: ApiToken
    agency: Agency

    @property
    def actor(self) -> ops.Actor:
        return token_actor(self.token, self.agency.code)


def _unauthorized(detail: str, challenge: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge},
                   errors=[{"index": None, "field": "Authorization", "message": detail}])


def authenticate() -> Caller:
    """Return the caller named by the request's bearer token, or refuse with a 401."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("send an API token as 'Authorization: Bearer <token>'", REALM)
    found = find_token(get_session(), secret.strip())
    if found is None or not found[1].active:
        raise _unauthorized("the API token is unknown or has been revoked",
                            f'{REALM}, error="invalid_token"')
    if expired(found[0]):
        raise _unauthorized(f"the API token expired on {found[0].expires_at:%Y-%m-%d %H:%M} UTC; "
                            "ask an administrator for a new one", f'{REALM}, error="invalid_token"')
    return Caller(*found)


def require_scope(caller: Caller) -> None:
    """Refuse anything but a read to a token of scope `read`."""
    if request.method not in READS and caller.token.scope != TokenScope.read_write:
        raise Problem(403, "Not allowed",
                      f"token {caller.token.name!r} has scope {caller.token.scope!r}: it may only "
                      "read; posting needs a token of scope 'read-write'",
                      headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", '
                                                   'scope="read-write"'},
                      errors=[{"index": None, "field": "Authorization",
                               "message": "the token's scope is read"}])


def token_required(view):
    """Let the view run only for a valid token, as `g.caller`; audit the refusals it answers."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.caller = authenticate()
        try:
            require_scope(g.caller)
            return view(*args, **kwargs)
        except DomainError as error:
            problem = Problem.of(error)
        except Problem as refused:
            problem = refused
        # The view's own transaction is rolled back by now; the refusal is kept on its own.
        record_call(g.caller, "api.refused", status=problem.status, errors=problem.errors)
        raise problem

    return wrapped


def record_call(caller: Caller, action: str, *, case_id: int | None = None,
                case_reference: str | None = None, **detail) -> None:
    """Write this call to the audit trail under the token's name, and note the token's use."""
    session = get_session()
    # Only records (the call, the token's last use): it waits for no scan or import.
    with ops.unit_of_work(session, caller.actor, decides=False, renews_stamp=False) as uow:
        uow.trail.record(
            actor=caller.actor.name, action=action, case_id=case_id,
            case_reference=case_reference,
            detail={"method": request.method, "path": request.path, **detail},
        )
        ops.note_token_use(uow, token=caller.token)
