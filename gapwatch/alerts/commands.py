"""`gapwatch alerts send` and `gapwatch alerts preview`."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.alerts import mails_for, send_pending, write_digests
from gapwatch.alerts.digest import gather
from gapwatch.alerts.settings import AlertSettings
from gapwatch.models import Agency


def _day(_ctx, _param, value: str | None) -> date:
    if value is None:
        return clock.today()
    from gapwatch.cli import parse_day

    return parse_day(_ctx, _param, value)


@click.group("alerts")
def alerts_group():
    """Build, preview and send the daily gap-alert digests."""


@alerts_group.command("send")
@click.option("--date", "day", callback=_day, help="The digests' day (default: today, Europe/London).")
@with_appcontext
def send_command(day: date):
    """Build the day's digests if the scan has not, then send every digest that is due.

    Exit 1 when any digest is failing, so that cron and systemd see it.
    """
    session = db.new_session(db.get_engine())
    try:
        written = build(session, day, current_app.config)
        sent = send_pending(session, current_app.config)
        failing = _failing(session)
    finally:
        session.close()
    built = "scanned and wrote the digests" if written is None else f"{written} outbox row(s) changed"
    click.echo(f"{day.isoformat()}: {built}, {sent} sent"
               + (f", {failing} failing (see /admin/outbox)" if failing else ""))
    if failing:
        sys.exit(1)  # cron and systemd must see that mail is not leaving


def build(session, day: date, config) -> int | None:
    """Scan `day` if no scan has reached it (the scan writes the digests), else refresh them.

    Return the outbox rows written or changed, or None when the scan wrote them.
    """
    from gapwatch.scan import latest_scanned, scan

    latest = latest_scanned(session)
    if latest is None or latest < day:
        scan(session, day, config=config, keep_findings=False)
        return None
    with ops.unit_of_work(session, ops.Actor.system("alerts send")) as uow:
        return write_digests(uow, day, config=config)


def _failing(session) -> int:
    from gapwatch.alerts.outbox import listing

    return len(listing(session, sent_limit=0)["failing"])


@alerts_group.command("preview")
@click.argument("agency")
@click.option("--date", "day", callback=_day, help="The digest's day (default: today, Europe/London).")
@click.option("--html", is_flag=True, help="Print the HTML part instead of the plain text.")
@with_appcontext
def preview_command(agency: str, day: date, html: bool):
    """Print AGENCY's digest for the day, without writing or sending anything."""
    settings = AlertSettings.of(current_app.config)
    session = db.new_session(db.get_engine())
    try:
        if session.execute(select(Agency.id).where(Agency.code == agency)).first() is None:
            click.echo(f"gapwatch: unknown agency {agency!r}", err=True)
            sys.exit(1)
        digest = next((d for d in gather(session, day, settings) if d.agency.code == agency), None)
    finally:
        session.close()
    if digest is None:
        click.echo(f"{agency} has nothing to hear about on {day.isoformat()}: no digest.")
        return
    for mail in mails_for(digest, settings):
        click.echo(f"To: {', '.join(mail.recipients)}\nSubject: {mail.subject}\n")
        click.echo(mail.html if html else mail.text)
