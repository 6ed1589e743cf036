"""The review of possible twins: a proposed pair of person records side by side, confirmed or rejected.

An admin, an auditor (reading only), or a case manager of an agency that holds a case of either
person today sees the open proposals and each pair with the reasons for its score: every
comparison's verdict and match weight, in words and as a waterfall picture. Each side's names,
date of birth and identifiers are shown only to someone who may open that person's details
(`access.may_open_details`, on each of the person's cases); the reasons never carry values.
Confirming or rejecting is `operations.decide_proposal`, which checks the same authority.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.details import opened_persons
from gapwatch.errors import DomainError
from gapwatch.models import (
    Agency,
    Case,
    LinkModel,
    LinkProposal,
    Ownership,
    Person,
    ProposalStatus,
    UserRole,
    active_on,
)
from gapwatch.operations.identity import group_of, identifiers_of
from gapwatch.queries import load_journeys
from gapwatch.web import waterfall
from gapwatch.web.access import may_open_details, visible

bp = Blueprint("links", __name__, url_prefix="/links")
MAX_NOTE = 1000
COMPARISONS = {"name": "Names", "date_of_birth": "Date of birth", "pnc": "PNC id",
               "noms": "Prison number", "crn": "Case reference number",
               "home_area": "Home area"}


@dataclass
class Side:
    person: Person
    cases: list
    details: bool
    identifiers: dict


def _held_persons(session, agency_id: int | None, today):
    """Return a WHERE clause on a person id: their case is held by `agency_id` today."""
    return select(Case.person_id).join(Ownership, Ownership.case_id == Case.id).where(
        Ownership.agency_id == agency_id, active_on(today))


def _scope(query, session, today):
    if current_user.sees_everything:
        return query
    held = _held_persons(session, current_user.agency_id, today)
    return query.where(or_(LinkProposal.person_a_id.in_(held),
                           LinkProposal.person_b_id.in_(held)))


@bp.route("")
@login_required
def index():
    session, today = get_session(), clock.today()
    a, b = aliased(Person), aliased(Person)
    query = (select(LinkProposal, a.reference, b.reference)
             .join(a, a.id == LinkProposal.person_a_id).join(b, b.id == LinkProposal.person_b_id)
             .where(LinkProposal.status == ProposalStatus.open.value)
             .order_by(LinkProposal.probability.desc(), LinkProposal.id).limit(200))
    found = session.execute(_scope(query, session, today)).all()
    persons = {pid for p, _a, _b in found for pid in (p.person_a_id, p.person_b_id)}
    opened = opened_persons(session, persons, current_user.agency_id, today,
                            auditor=current_user.opens_restricted)
    rows = [(p, a if p.person_a_id in opened else None, b if p.person_b_id in opened else None)
            for p, a, b in found]
    return render_template("links/index.html", rows=rows)


def _side(session, person: Person, today) -> Side:
    case_ids = session.execute(select(Case.id).where(Case.person_id == person.id)
                               .order_by(Case.id)).scalars().all()
    journeys = load_journeys(session, case_ids)
    details = not person.restricted or any(
        may_open_details(current_user, j, today) for j in journeys.values())
    identifiers = identifiers_of(session, [person.id])[person.id] if details else {}
    return Side(person, [journeys[c] for c in case_ids], details, identifiers)


def _proposal_or_404(session, proposal_id: int, today) -> LinkProposal:
    query = _scope(select(LinkProposal).where(LinkProposal.id == proposal_id), session, today)
    proposal = session.execute(query).scalar_one_or_none()
    if proposal is None:
        abort(404)
    return proposal


def reasons_in_words(reasons: list[dict]) -> list[tuple[str, str, float]]:
    """Return each comparison's verdict as (what, the level in words, its match weight)."""
    return [(COMPARISONS.get(r["comparison"], r["comparison"]), r["level"], r["weight"])
            for r in reasons]


def render_pair(proposal_id: int, status: int = 200):
    session, today = get_session(), clock.today()
    proposal = _proposal_or_404(session, proposal_id, today)
    sides = [_side(session, session.get(Person, pid), today)
             for pid in (proposal.person_a_id, proposal.person_b_id)]
    model = session.get(LinkModel, proposal.model_id)
    homes = {a.id: a.code for a in session.execute(select(Agency)).scalars()}
    ops.record_read(session, current_user.actor, "link_proposal.viewed",
                    proposal=proposal_id,
                    persons=[s.person.reference for s in sides],
                    details_shown=[s.details for s in sides])
    session.refresh(proposal)
    for side in sides:
        session.refresh(side.person)
    # The reasons say how each detail compares: beside one side's details they would tell a
    # restricted person's (the same date of birth, the same home area). Withheld with them.
    withheld = not all(side.details for side in sides)
    words = [] if withheld else reasons_in_words(proposal.reasons)
    prior = proposal.match_weight - sum(weight for _w, _l, weight in words)
    picture = None if withheld else Markup(waterfall.render(
        prior, [(w, weight) for w, _l, weight in words], proposal.probability))
    page = render_template(
        "links/show.html", proposal=proposal, sides=sides, words=words, prior=prior,
        picture=picture, withheld=withheld, model=model, homes=homes, today=today,
        may_decide=proposal.status == ProposalStatus.open
        and current_user.role != UserRole.auditor,
    )
    return page, status


@bp.route("/<int:proposal_id>")
@login_required
def show(proposal_id: int):
    return render_pair(proposal_id)


@bp.route("/<int:proposal_id>/<any(confirm, reject):verdict>", methods=["POST"])
@login_required
def decide(proposal_id: int, verdict: str):
    session, today = get_session(), clock.today()
    _proposal_or_404(session, proposal_id, today)
    note = request.form.get("note", "").strip()[:MAX_NOTE]
    try:
        with ops.unit_of_work(session, current_user.actor) as uow:
            ops.decide_proposal(uow, proposal_id=proposal_id, confirm=verdict == "confirm",
                                on=today, note=note or None)
    except DomainError as error:
        flash(f"Not done: {error.message}.", "error")
        return render_pair(proposal_id, error.status)
    flash("Linked: the two records are now read as one person's journey." if verdict == "confirm"
          else "Rejected: the two records stay apart and will not be proposed again.", "info")
    return redirect(url_for("links.index"), 303)


@dataclass
class Identity:
    """What the case page shows of who the person is: identifiers, linked records, proposals."""

    identifiers: dict
    # (person reference, [(case reference, whether the user may open it)]) of each linked
    # record: a case of a linked record that another agency holds is named, not linked to.
    linked: list
    proposals: list  # (proposal id, other person's reference, probability)
    journey: object  # the journey with the linked records' cases read in


def identity_of(session, person_id: int, journey, details: bool, today) -> Identity:
    """Return the case page's identity section; identifiers only where details are shown."""
    from gapwatch import linked

    group = group_of(session, person_id) - {person_id}
    records = []
    if group:
        rows = session.execute(select(Person.reference, Case.reference)
                               .outerjoin(Case, Case.person_id == Person.id)
                               .where(Person.id.in_(sorted(group)))
                               .order_by(Person.reference, Case.reference)).all()
        by_person: dict[str, list] = {}
        for person, case in rows:
            by_person.setdefault(person, []).append(case)
        named = sorted({c for _p, c in rows if c})
        seen = set(session.execute(select(Case.reference).where(
            Case.reference.in_(named), visible(current_user))).scalars()) if named else set()
        records = [(p, [(c, c in seen) for c in cases if c]) for p, cases in by_person.items()]
    twins = linked.twins_of(session, Case.id == journey.case.id).get(journey.case.id, ())
    # Another record's reference is its person's detail: shown only where they may be opened.
    others = {t.person_id for t in twins} | set(group)
    opened = opened_persons(session, others, current_user.agency_id, today,
                            auditor=current_user.opens_restricted) if details else set()
    ids = dict(session.execute(select(Person.reference, Person.id)
                               .where(Person.id.in_(sorted(group)))).all()) if group else {}
    return Identity(
        identifiers=identifiers_of(session, [person_id])[person_id] if details else {},
        linked=[(p if ids.get(p) in opened else None, cases) for p, cases in records],
        proposals=[(t.proposal, t.person if t.person_id in opened else None, t.probability)
                   for t in twins],
        journey=linked.journey_of_person(session, journey, person_id, today),
    )
