"""`gapwatch link`: score every pair of person records that may be one person, and propose them.

Reads every person (names, date of birth, home area, identifiers) in two queries, trains and
runs the Splink model of `gapwatch.linkage` outside any transaction (with fewer than
`LINK_TRAIN_MIN` persons, 5,000, it scores with the model shipped in `gapwatch/linkage_model.json`,
trained on a synthetic region, instead: EM needs many pairs), then keeps the model as the next
version and reconciles the proposals in one unit of work by `system:link`
(`operations.record_linkage`). Nothing is linked by the machine: a person confirms or rejects
each proposal on the review page.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from gapwatch import bulk, clock, db
from gapwatch import operations as ops
from gapwatch.models import (
    Agency,
    LinkModel,
    LinkProposal,
    Person,
    PersonIdentifier,
    PersonLink,
    ProposalStatus,
)

log = logging.getLogger(__name__)

ACTOR = ops.Actor.system("link")
# Fewer persons than this give EM too little to learn from: the shipped model scores them.
TRAIN_MIN = 5000
_HOME = aliased(Agency)


def person_rows(session: Session) -> list[dict]:
    """Return every person as a row of `linkage.COLUMNS`, in two queries."""
    read = session.connection().execute
    rows = {
        r[0]: {"unique_id": r[0], "given_name": r[1], "family_name": r[2],
               "date_of_birth": r[3].isoformat(), "home_area": r[4],
               "pnc": None, "noms": None, "crn": None}
        for r in read(select(Person.id, Person.given_name, Person.family_name,
                             Person.date_of_birth, _HOME.code)
                      .outerjoin(_HOME, _HOME.id == Person.home_area_id))
    }
    for person_id, scheme, value in read(
        select(PersonIdentifier.person_id, PersonIdentifier.scheme, PersonIdentifier.value)
        .where(PersonIdentifier.scheme.in_(("pnc", "noms", "crn")))
    ):
        rows[person_id][scheme] = value
    return list(rows.values())


def known_pairs(session: Session) -> list[tuple[int, int]]:
    """Return the pairs of persons linked today: by an identifier, or confirmed by people."""
    pairs = session.connection().execute(
        select(PersonLink.person_a_id, PersonLink.person_b_id)
        .where(PersonLink.unlinked_on.is_(None))).all()
    session.rollback()
    return [tuple(p) for p in pairs]


@bulk.fewer_collections()
def run(session: Session, *, on: date, config: Mapping | None = None) -> dict:
    """Link afresh: train on every person, then record the model and the proposals."""
    # Splink and DuckDB load when linking runs, not with every command.
    from gapwatch import linkage
    config = config or {}
    threshold = float(config.get("LINK_THRESHOLD", linkage.THRESHOLD))
    started = time.perf_counter()
    rows = person_rows(session)
    session.rollback()  # no transaction stays open while Splink trains
    if len(rows) < 2:
        raise click.ClickException(f"linking needs two persons or more; there are {len(rows)}")
    small = len(rows) < int(config.get("LINK_TRAIN_MIN", TRAIN_MIN))
    found = linkage.link(rows, threshold=threshold, seed=int(config.get("LINK_SEED", 1)),
                         trained=linkage.shipped() if small else None,
                         labels=known_pairs(session))
    with ops.unit_of_work(session, ACTOR) as uow:
        summary = ops.record_linkage(
            uow, model=found.model, pairs=found.pairs, persons=len(rows), threshold=threshold,
            splink_version=linkage.SPLINK_VERSION, on=on, trained_on=found.trained_on)
    # The proposals can change by thousands at once: the scan's reads of them are planned well
    # only on fresh statistics.
    db.analyze(session, LinkProposal.__table__.name, PersonLink.__table__.name)
    summary.update(persons=len(rows), pairs=len(found.pairs),
                   seconds=round(time.perf_counter() - started, 2))
    log.info("linking of %d persons: %s", len(rows), summary)
    return summary


def open_proposals(session: Session) -> list[dict]:
    """Return the open proposals, most probable first, naming persons by reference only."""
    a, b = aliased(Person), aliased(Person)
    rows = session.execute(
        select(LinkProposal, a.reference, b.reference, LinkModel.version)
        .join(a, a.id == LinkProposal.person_a_id).join(b, b.id == LinkProposal.person_b_id)
        .join(LinkModel, LinkModel.id == LinkProposal.model_id)
        .where(LinkProposal.status == ProposalStatus.open.value)
        .order_by(LinkProposal.probability.desc(), LinkProposal.id)
    ).all()
    return [
        {"id": p.id, "a": first, "b": second, "probability": round(p.probability, 4),
         "match_weight": round(p.match_weight, 2), "proposed_on": p.proposed_on.isoformat(),
         "model_version": version, "reasons": p.reasons}
        for p, first, second, version in rows
    ]


@click.command("link")
@click.option("--json", "as_json", is_flag=True, help="Print the open proposals as JSON.")
@with_appcontext
def link_command(as_json: bool):
    """Score person records that may be one person, and propose them for review."""
    session = db.new_session(db.get_engine())
    try:
        summary = run(session, on=clock.today(), config=current_app.config)
        proposals = open_proposals(session)
    finally:
        session.close()
    if as_json:
        click.echo(json.dumps({"proposals": proposals, "summary": summary}))
        return
    for p in proposals:
        click.echo(f"{p['a']:<16} {p['b']:<16} {p['probability']:.4f}  "
                   f"(weight {p['match_weight']:+.1f}, model {p['model_version']})")
    click.echo(f"model {summary['model_version']}: {summary['persons']} persons, "
               f"{summary['proposed']} proposed, {summary['rescored']} rescored, "
               f"{summary['lapsed']} lapsed, {len(proposals)} open, in {summary['seconds']} s")


def run_scheduled(engine, config: Mapping) -> dict | None:
    """Link afresh, as the scheduler's daily `link` job (at `LINK_AT`, before the scan)."""
    session = db.new_session(engine)
    try:
        return run(session, on=clock.today(), config=config)
    except click.ClickException as refused:
        log.warning("linking skipped: %s", refused.message)
        return None
    finally:
        session.close()
