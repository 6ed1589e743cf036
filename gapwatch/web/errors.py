"""Error pages, and rolling the session back when a request fails."""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError

from gapwatch.errors import InvalidInput


def init_app(app: Flask) -> None:
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

    @app.errorhandler(500)
    def server_error(_error):
        session = g.get("db")
        if session is not None:
            session.rollback()
        return render_template("error.html", code=500, title="Something went wrong",
                               message="The error was logged. Nothing was half-saved."), 500
