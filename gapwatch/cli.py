"""The `gapwatch` command line; every command also runs as `flask --app wsgi ...`."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.errors import DomainError


def _create_app():
    from gapwatch import create_app

    return create_app()


def fail(message: str, status: int = 1) -> None:
    click.echo(f"gapwatch: {message}", err=True)
    sys.exit(status)


def parse_day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return clock.parse_day(value, "the day")
    except DomainError as error:
        raise click.BadParameter(error.message) from None


@click.command("init")
@with_appcontext
def init_command():
    """Create or migrate the database schema."""
    url = current_app.config["DATABASE_URL"]
    db.upgrade(url)
    click.echo(f"Database ready at {db.get_engine().url.render_as_string(hide_password=True)}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, help="0: any free port.")
@click.option("--demo-logins", is_flag=True, help="After the address, print the demo logins.")
@with_appcontext
def serve_command(host: str, port: int, demo_logins: bool):
    """Serve the web app on this machine (production runs wsgi:app under gunicorn)."""
    from werkzeug.serving import make_server

    try:
        server = make_server(host, port, current_app._get_current_object(), threaded=True)
    except OSError as error:
        fail(f"cannot serve on {host}:{port}: {error.strerror} (pass --port to use another)")
    click.echo(f"gapwatch is serving on http://{host}:{server.server_port}/ (Ctrl+C to stop)")
    if demo_logins:
        from gapwatch.demo import print_logins

        session = db.new_session(db.get_engine())
        try:
            print_logins(session)
        finally:
            session.close()
    server.serve_forever()  # until Ctrl+C, which werkzeug turns into closing the server


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON, for a machine.")
@with_appcontext
def doctor_command(as_json: bool):
    """Check that gapwatch works: database, schema, scheduler, daily run, outbox, audit, mail."""
    import json

    from gapwatch import health

    checks = health.doctor(db.get_engine(), current_app.config)
    healthy = all(c.ok for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": healthy, "checks": [c.as_json() for c in checks]}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            click.echo(f"{'ok' if check.ok else 'FAIL':<4}  {check.name:<{width}}  {check.detail}")
        failed = [c.name for c in checks if not c.ok]
        click.echo("all checks pass" if healthy else f"failing: {', '.join(failed)}")
    sys.exit(0 if healthy else 1)


@click.group("user")
def user_group():
    """Manage user accounts."""


@user_group.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["case_manager", "auditor", "admin"]))
@click.option("--agency", default=None, help="Agency code (required for case managers).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_add(email: str, role: str, agency: str | None, password_stdin: bool):
    """Create a user account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    session = db.new_session(db.get_engine())
    try:
        with ops.unit_of_work(session, ops.Actor.system("cli")) as uow:
            user = ops.add_user(uow, email=email, role=role, password=password, agency=agency)
    except DomainError as error:
        fail(error.message)
    click.echo(f"Created {user.role} {user.email}" + (f" of {agency}" if agency else ""))


def commands() -> list[click.Command]:
    """Return every command of the command line, for `create_app` to register."""
    from gapwatch.alerts.commands import alerts_group
    from gapwatch.api.commands import token_group
    from gapwatch.contracts import contracts_group
    from gapwatch.demo import demo_command
    from gapwatch.exports.commands import audit_group, export_command
    from gapwatch.forecast import forecast_command
    from gapwatch.importer import import_command
    from gapwatch.linking import link_command
    from gapwatch.scan import scan_command
    from gapwatch.scheduler import scheduler_command

    return [
        init_command,
        demo_command,
        import_command,
        serve_command,
        user_group,
        scan_command,
        link_command,
        scheduler_command,
        alerts_group,
        export_command,
        audit_group,
        token_group,
        doctor_command,
        forecast_command,
        contracts_group,
    ]


class Commands(FlaskGroup):
    """The command group; a database that stops answering ends a command in one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as error:
            if not db.is_outage(error):
                raise
            fail(f"the database stopped answering ({db.outage_line(error)}); what this command "
                 "was doing in its unfinished transaction was not kept. Run it again once the "
                 "database is back.")


main = Commands(
    create_app=_create_app,
    add_default_commands=False,
    help="gapwatch: finds the people on probation nobody is responsible for.",
)


if __name__ == "__main__":  # `python -m gapwatch.cli ...`, as COMMON.md and the docs run it
    main()
