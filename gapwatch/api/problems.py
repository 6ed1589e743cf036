"""Errors as RFC 9457 problem details (`application/problem+json`), naming the field and the event.

Every refusal of the API is one of these: the domain's errors keep their status (400 malformed,
403 not this agency's to do, 404 unknown or not yours, 409 a state conflict, 422 refused), and
an `errors` list says which event of a batch (`index`, from 0) and which field was wrong.
"""

from __future__ import annotations

import json
import logging

from flask import Response, g, request
from werkzeug.exceptions import HTTPException

from gapwatch import db
from gapwatch.errors import DomainError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://gapwatch.example/problems/"
SLUGS = {
    400: "invalid-input",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "refused",
    500: "server-error",
    503: "unavailable",
}


class Problem(Exception):
    """A refusal to answer as problem details, with the events and fields it concerns."""

    def __init__(self, status: int, title: str, detail: str, *, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or []
        self.headers = headers or {}

    @classmethod
    def of(cls, error: DomainError, *, index: int | None = None) -> Problem:
        """Turn a domain error into a problem, naming the event of the batch it came from."""
        where = f"event {index}: " if index is not None else ""
        entry = {"index": index, "field": error.field, "message": error.message}
        if error.rule:
            entry["rule"] = error.rule  # which row of the authority table refused
        return cls(error.status, error.title, where + error.message, errors=[entry])

    def body(self) -> dict:
        return {
            "type": TYPE_BASE + SLUGS.get(self.status, str(self.status)),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": self.errors,
        }

    def response(self) -> Response:
        return problem_response(self.body(), self.status, self.headers)


def refuse_unknown_parameters(*known: str) -> None:
    """Refuse query parameters the operation does not take, as the events refuse unknown keys."""
    unknown = sorted(set(request.args) - set(known))
    if unknown:
        takes = ", ".join(known) if known else "none"
        raise Problem(400, "Invalid input",
                      f"unknown query parameter {unknown[0]!r}; this takes {takes}",
                      errors=[{"index": None, "field": name, "message": "unknown query parameter"}
                              for name in unknown])


def problem_response(body: dict, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http(error: HTTPException) -> Problem:
    """Turn a werkzeug HTTP error (a body too large, a method not allowed) into a problem."""
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    detail = error.description or error.name
    return Problem(status, error.name, detail, errors=[{"index": None, "field": None,
                                                        "message": detail}], headers=headers)


def register(bp) -> None:
    """Answer every error raised inside the API's blueprints as problem details."""

    @bp.errorhandler(Problem)
    def _problem(error: Problem):
        return error.response()

    @bp.errorhandler(DomainError)
    def _domain(error: DomainError):
        return Problem.of(error).response()

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return from_http(error).response()

    @bp.errorhandler(db.WritersBusy)
    def _busy(error: db.WritersBusy):
        log.warning("write refused: %s", error)
        session = g.get("db")
        if session is not None:
            session.rollback()
        return Problem(503, "Service busy", f"{error}. Try again in a few seconds.",
                       headers={"Retry-After": "5"}).response()

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception):
        if db.is_outage(error):
            log.warning("database unavailable: %s", db.outage_line(error))
            session = g.pop("db", None)
            if session is not None:
                session.invalidate()  # the connection is broken: drop it, never reuse it
            return Problem(503, "Service unavailable", "The database is not answering just "
                           "now; nothing was saved. Try again in a minute.",
                           headers={"Retry-After": "30"}).response()
        log.exception("API request failed: %s", error)
        session = g.get("db")
        if session is not None:
            session.rollback()
        return Problem(500, "Server error", "The error was logged; nothing was half-saved.").response()
