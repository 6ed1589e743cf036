"""The integration API for agencies' own systems, at `/api/v1/`.

Bearer tokens per agency (`bearer`), events posted as in the import (`events`), person records
with their identifiers (`persons`), cases and journeys (`cases`), flags (`flags`), and the
OpenAPI document that describes them (`openapi`).
No cookies, no login session and so no CSRF token: the blueprints are exempt from CSRF checks.
Every error is problem details (`problems`).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from gapwatch.api import cases, events, flags, openapi, persons, problems
from gapwatch.api.problems import Problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
FEATURES = (events.bp, persons.bp, cases.bp, flags.bp, openapi.bp)
for feature in FEATURES:
    bp.register_blueprint(feature)
problems.register(bp)


@bp.before_request
def _refuse_unstorable_urls() -> None:
    """Refuse NUL characters in the path or query: no database can look them up."""
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        raise Problem(400, "Invalid input", "the URL holds a NUL character")


@bp.record_once
def _exempt_from_csrf(_state) -> None:
    from gapwatch.extensions import csrf

    for blueprint in (bp, *FEATURES):
        csrf.exempt(blueprint)


def _allowed() -> list[str]:
    """Return the documented methods the request's path takes (none: the API has no such path)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _values = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    return allowed


@bp.before_request
def _answer_options():
    """Answer OPTIONS with the methods the OpenAPI document names, not every one routed."""
    if request.method != "OPTIONS":
        return None
    allowed = _allowed()
    if not allowed:
        raise Problem(404, "Not found",
                      f"the API has no {request.path}; see /api/v1/openapi.json for what it has")
    methods = allowed + (["HEAD"] if "GET" in allowed else []) + ["OPTIONS"]
    return Response(status=204, headers={"Allow": ", ".join(methods)})


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    """Answer a path the API does not have, or a method a path does not take, as a problem."""
    allowed = _allowed()
    if allowed:
        raise Problem(405, "Method not allowed",
                      f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                      headers={"Allow": ", ".join(allowed)})
    raise Problem(404, "Not found",
                  f"the API has no {request.path}; see /api/v1/openapi.json for what it has")
