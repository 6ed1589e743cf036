"""gapwatch: finds the people on probation whom no agency is responsible for, before harm is done."""

from __future__ import annotations

from importlib import import_module

from flask import Flask
from werkzeug.routing import IntegerConverter

# Each feature is a module with a `bp` blueprint; order decides nothing but the listing.
BLUEPRINTS = (
    "gapwatch.web.auth",
    "gapwatch.web.cases",
    "gapwatch.web.audit",
    "gapwatch.web.tokens",
    "gapwatch.api",
    "gapwatch.web.dashboard",
    "gapwatch.web.actions",
    "gapwatch.web.admin",
    "gapwatch.web.outbox",
    "gapwatch.web.health",
    "gapwatch.web.links",
    "gapwatch.web.contracts",
    "gapwatch.web.coming",
)


def create_app(test_config: dict | None = None) -> Flask:
    """Create the web application: settings, database, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True)
    from gapwatch import config, logs

    config.load(app, test_config)
    app.url_map.converters["int"] = RecordNumber
    trust_proxies(app)
    logs.configure(app.config)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


class RecordNumber(IntegerConverter):
    """`<int:…>` in every route: a record's id, at most `models.LARGEST_ID`, so a larger number
    in an address is not found (404) instead of overflowing the database (a 500)."""

    def __init__(self, url_map, *args, **kwargs):
        from gapwatch.models import LARGEST_ID

        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(url_map, *args, **kwargs)


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT proxies, take the client's address and scheme from their headers.

    The sign-in throttle counts per client address, and HSTS and secure cookies follow the
    scheme: without this every request would seem to come from the proxy, over plain HTTP.
    """
    count = int(app.config["PROXY_COUNT"])
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_extensions(app: Flask) -> None:
    from gapwatch import db
    from gapwatch.extensions import csrf, limiter, login_manager
    from gapwatch.web import telemetry
    from gapwatch.web.headers import refuse_large_forms

    telemetry.init_app(app)  # first, so every request has its id before anything logs
    db.init_app(app)
    app.before_request(refuse_large_forms)  # before the CSRF check reads the form
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    from gapwatch.web import cells, errors, headers, naming
    from gapwatch.web.access import refuse_read_only_writes

    errors.init_app(app)
    headers.init_app(app)
    naming.init_app(app)
    cells.init_app(app)
    # Auditors read everything and change nothing, whichever blueprint a form posts to.
    app.before_request(refuse_read_only_writes)
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(name).bp)
    register_filters(app)


def register_filters(app: Flask) -> None:
    """Days in pages read as in the rest of the UK's justice services: "25 November 2026"."""
    from gapwatch import clock

    app.add_template_filter(clock.long_day, "long_day")
    app.add_template_filter(clock.short_day, "short_day")
    app.add_template_global(clock.example_day, "example_day")


def register_commands(app: Flask) -> None:
    from gapwatch.cli import commands

    for command in commands():
        app.cli.add_command(command)
