"""The case list and search, and a plain case page."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.models import Agency, Case, Person
from gapwatch.queries import load_journey
from gapwatch.web.access import case_or_404, may_open_details, visible

bp = Blueprint("cases", __name__)
PAGE_SIZE = 50


@bp.route("/")
@bp.route("/cases")
@login_required
def index():
    session = get_session()
    query = request.args.get("q", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    where = [visible(current_user)]
    if query:
        pattern = f"%{query.lower()}%"
        where.append(or_(
            func.lower(Case.reference).like(pattern),
            func.lower(Person.reference).like(pattern),
            func.lower(Person.given_name + " " + Person.family_name).like(pattern),
        ))
    rows = session.execute(
        select(Case, Person, Agency.code)
        .join(Person, Person.id == Case.person_id)
        .outerjoin(Agency, Agency.id == Person.home_area_id)
        .where(*where)
        .order_by(Case.closed_on.is_not(None), Case.reference)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "cases/index.html", rows=rows[:PAGE_SIZE], query=query, page=page,
        more=len(rows) > PAGE_SIZE,
    )


@bp.route("/cases/<reference>")
@login_required
def show(reference: str):
    session = get_session()
    case = case_or_404(session, current_user, reference)
    journey = load_journey(session, case.reference)
    today = clock.today()
    allowed = may_open_details(current_user, journey, today)
    with ops.unit_of_work(session, current_user.actor) as uow:
        uow.trail.append(
            actor=current_user.actor.name, action="case.viewed", case_id=case.id,
            case_reference=case.reference, detail={"details_shown": allowed},
        )
    person = session.get(Person, case.person_id) if allowed else None
    return render_template(
        "cases/show.html", case=case, person=person, journey=journey, today=today,
        accountable=journey.accountable_on(today), gaps=journey.gaps(case.opened_on, today),
    )
