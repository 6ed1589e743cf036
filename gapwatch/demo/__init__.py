"""`gapwatch demo`: load the West Midlands demo region through the domain operations.

Without options it loads the curated journeys of `journeys.py`, each meant to show one rule of
SPEC.md (or a healthy journey), dated around today. `--cases N --seed S` loads N synthetic cases
instead (`synthetic.py`), 5% of them a second record of an earlier case's person (`twins.py`).
Either way the region's agencies, contracts and one demo user of every role are created, the
persons are linked (`gapwatch link`: possible twins proposed for review), and the logins are
printed, each with its agency and role (`--no-logins` leaves them to `gapwatch serve
--demo-logins`, as `make run` does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from gapwatch import bulk, clock, db, linking
from gapwatch import operations as ops
from gapwatch.demo import region
from gapwatch.demo.journeys import curated_records
from gapwatch.demo.synthetic import synthetic_cases
from gapwatch.errors import DomainError
from gapwatch.events import apply_record, chunks, parse_record, preload
from gapwatch.models import Agency, User

ACTOR = ops.Actor.system("demo")
CASES_PER_UNIT = 1000


def is_empty(session: Session) -> bool:
    """Tell whether the database has no agencies yet (and has its schema)."""
    try:
        return not session.execute(select(func.count()).select_from(Agency)).scalar()
    except (OperationalError, ProgrammingError):
        session.rollback()
        raise click.ClickException(
            "the database has no gapwatch tables yet: run `gapwatch init` first"
        ) from None


def apply_all(session: Session, records: Iterable[dict]) -> int:
    """Apply import records in one unit of work; return how many."""
    records = list(records)
    with ops.unit_of_work(session, ACTOR) as uow:
        parsed = [parse_record(r) for r in records]
        preload(uow, parsed)
        for record in parsed:
            apply_record(uow, record)
    return len(records)


def load_region(session: Session) -> None:
    """Create the region's agencies, contracts and demo users."""
    today = clock.today()
    apply_all(session, [*region.agency_records(), *region.contract_records(today)])
    with ops.unit_of_work(session, ACTOR) as uow:
        for email, role, agency in region.logins():
            ops.add_user(uow, email=email, role=role, agency=agency, password=region.PASSWORD)


def load_synthetic(
    session: Session, cases: int, seed: int, progress: Callable[[int, int, float], None]
) -> int:
    """Load `cases` synthetic cases, a unit of work per thousand; return the records applied."""
    started, done, records = time.perf_counter(), 0, 0
    for batch in chunks(synthetic_cases(clock.today(), cases, seed), CASES_PER_UNIT):
        records += apply_all(session, (record for case in batch for record in case))
        done += len(batch)
        progress(done, records, time.perf_counter() - started)
    return records


ROLE_NAMES = {"case_manager": "case manager", "auditor": "auditor", "admin": "administrator"}


def print_logins(session: Session) -> None:
    """Print the demo logins the database holds, each with its agency's name and code and role."""
    emails = [email for email, _role, _agency in region.logins()]
    held = {
        row.email: row
        for row in session.execute(
            select(User.email, User.role, Agency.name, Agency.code)
            .outerjoin(Agency, User.agency_id == Agency.id)
            .where(User.email.in_(emails))
        )
    }
    if not held:
        click.echo("This database holds no demo logins (`gapwatch demo` loads them).")
        return
    click.echo(f"Demo logins (password for all: {region.PASSWORD}):")
    for email in (e for e in emails if e in held):
        row = held[email]
        agency = "no agency" if row.code is None else (
            row.name if row.name.endswith(f"({row.code})") else f"{row.name} ({row.code})")
        click.echo(f"  {email:<28} {agency:<52} {ROLE_NAMES.get(row.role, row.role)}")


@click.command("demo")
@click.option("--if-empty", is_flag=True,
              help="Load only into a database without agencies; print the logins either way.")
@click.option("--no-logins", is_flag=True, help="Do not print the demo logins.")
@click.option("--cases", type=click.IntRange(min=1), default=None,
              help="Load N synthetic cases instead of the curated journeys.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the synthetic cases: the same seed gives the same cases.")
@with_appcontext
def demo_command(if_empty: bool, no_logins: bool, cases: int | None, seed: int):
    """Load the West Midlands demo region and print its logins."""
    session = db.new_session(db.get_engine())
    try:
        if not is_empty(session):
            if not if_empty:
                raise click.ClickException(
                    "the database already has agencies; the demo loads only into an empty "
                    "database (run `gapwatch init` on a new one, or pass --if-empty)"
                )
            click.echo("The database already has data; the demo was not loaded.")
        else:
            _load(session, cases, seed)
        if not no_logins:
            print_logins(session)
    except DomainError as error:
        raise click.ClickException(f"the demo could not be loaded: {error.message}") from None
    finally:
        session.close()


@bulk.fewer_collections()
def _load(session: Session, cases: int | None, seed: int) -> None:
    load_region(session)
    if cases is None:
        count = apply_all(session, curated_records(clock.today()))
        click.echo(f"Loaded the West Midlands demo region: {count} records.")
    else:
        _load_synthetic(session, cases, seed)
    found = linking.run(session, on=clock.today(), config=current_app.config)
    click.echo(f"Linked {found['persons']:,} persons: {found['proposed']:,} possible twins "
               f"proposed for review (model {found['model_version']}, {found['seconds']} s).")
    # Fresh statistics of everything loaded and linked, so the first pages and scans get the
    # planner's good plans at once instead of after autovacuum's next visit (PostgreSQL) or
    # never (SQLite); on PostgreSQL the pages' counts also read their indexes alone at once.
    db.vacuum(session)


def _load_synthetic(session: Session, cases: int, seed: int) -> None:

    def progress(done: int, records: int, seconds: float) -> None:
        if done % 10_000 == 0 or done == cases:
            click.echo(f"  {done:,}/{cases:,} cases, {records:,} records, "
                       f"{records / max(seconds, 1e-9):,.0f} records/s", err=True)

    started = time.perf_counter()
    count = load_synthetic(session, cases, seed, progress)
    seconds = time.perf_counter() - started
    click.echo(f"Loaded {cases:,} synthetic cases (seed {seed}): {count:,} records "
               f"in {seconds:.1f} s.")
