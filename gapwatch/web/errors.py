"""Error pages, and rolling the session back when a request fails."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from gapwatch import db
from gapwatch.errors import InvalidInput

log = logging.getLogger(__name__)
UNAVAILABLE = ("The database is not answering just now, so nothing was saved. "
               "Try again in a minute.")
RETRY_AFTER = "30"


def database_unavailable(error: BaseException):
    """Answer 503 (retry later) for a database outage, without touching the database again."""
    log.warning("database unavailable: %s", db.outage_line(error))
    session = g.pop("db", None)
    if session is not None:
        session.invalidate()  # the connection is broken: drop it, never reuse it
    try:
        body = render_template("error.html", code=503, title="Try again shortly", message=UNAVAILABLE)
    except SQLAlchemyError:  # the page's header asks the database who is signed in
        body = f"<!doctype html><title>Try again shortly</title><h1>Try again shortly</h1><p>{UNAVAILABLE}</p>"
    return body, 503, {"Retry-After": RETRY_AFTER}


BUSY = ("Another change is being saved just now (the daily scan, or an import), so nothing "
        "was saved. Try again in a few seconds.")
BUSY_RETRY_AFTER = "5"


def writers_busy(error: db.WritersBusy):
    """Answer 503 (retry soon) for a write that waited its bound for the writers' lock."""
    log.warning("write refused: %s", error)
    session = g.get("db")
    if session is not None:
        session.rollback()
    body = render_template("error.html", code=503, title="Try again in a few seconds",
                           message=BUSY)
    return body, 503, {"Retry-After": BUSY_RETRY_AFTER}


def init_app(app: Flask) -> None:
    app.register_error_handler(db.WritersBusy, writers_busy)
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("error.html", code=404, title="Not found",
                               message="There is no such page or case, or it is not yours to see."), 404

    @app.errorhandler(403)
    def forbidden(_error):
        return render_template("error.html", code=403, title="Not allowed",
                               message="Your role does not allow this."), 403

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("error.html", code=400, title="Form expired",
                               message=f"{error.description} Go back, reload the page and try again."), 400

    @app.errorhandler(429)
    def too_many(_error):
        return render_template("error.html", code=429, title="Too many sign-in attempts",
                               message="Too many sign-in attempts failed: wait a few minutes, "
                               "then try again."), 429

    @app.errorhandler(413)
    def too_large(_error):
        return render_template("error.html", code=413, title="Too large",
                               message="The form sent more than this page takes."), 413

    @app.errorhandler(InvalidInput)
    def invalid_input(error):
        # A query string's day or number the pages cannot use: say which, never a 500.
        return render_template("error.html", code=400, title="Invalid input",
                               message=f"{error.message}."), 400

    @app.errorhandler(DBAPIError)
    @app.errorhandler(db.PoolTimeout)
    def database_error(error):
        if db.is_outage(error):
            return database_unavailable(error)
        log.error("request failed: %s", error, exc_info=error)
        return server_error(error)

    @app.errorhandler(500)
    def server_error(_error):
        session = g.get("db")
        if session is not None:
            session.rollback()
        return render_template("error.html", code=500, title="Something went wrong",
                               message="The error was logged. Nothing was half-saved."), 500
