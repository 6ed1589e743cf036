"""Who is calling: the bearer token of an agency's system, checked on every API request.

No cookies and no login session: each request carries `Authorization: Bearer <token>`. A
missing, unknown or revoked token is a 401 with `WWW-Authenticate: Bearer`. The token's actor
acts for its agency only (`gapwatch.operations.tokens.token_actor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import g, request

from gapwatch import operations as ops
from gapwatch.api.problems import Problem
from gapwatch.db import get_session
from gapwatch.errors import DomainError
from gapwatch.models import Agency, ApiToken
from gapwatch.operations.tokens import find_token, token_actor

REALM = 'Bearer realm="gapwatch"'


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
    return Caller(*found)


def token_required(view):
    """Let the view run only for a valid token, as `g.caller`; audit the refusals it answers."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.caller = authenticate()
        try:
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
