"""Coming up: what will become a gap for one agency in the next 30 days if nobody acts.

The list is `gapwatch.forecast`'s, the scan's own rules run on the days ahead, kept to the
findings that would tell the agency, grouped by week. Each item links its case and, where the
authority table allows this user a step today that would stop it, says which (the morning
list's `next_step`). A restricted person's name shows only to those who may open their details,
as on the dashboard. A case manager sees their own agency's; an auditor or admin chooses one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import exists, or_, select

from gapwatch import authority, clock
from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.forecast import Coming, forecast
from gapwatch.models import Agency, Case, Contract, Ownership, Person, UserRole
from gapwatch.queries import load_journeys, visible_to_agency
from gapwatch.rules import load_rules
from gapwatch.web import access, queues
from gapwatch.web.morning import LOOK, Step, next_step

bp = Blueprint("coming", __name__)
DAYS = 30
OPEN_CASE = Step("look", "Open the case")


def could_tell(agency_id: int):
    """Return a WHERE clause on Case keeping every case whose findings could tell the agency:
    those it is involved in (as `queries.visible_to_agency` says), and those a provider it
    commissions delivers for (`contract-ending` tells every commissioner when nobody is
    accountable). Only a narrowing for speed: the forecast's own `notify` decides."""
    commissioned = select(Contract.provider_id).where(Contract.commissioner_id == agency_id)
    return or_(visible_to_agency(agency_id), exists().where(
        Ownership.case_id == Case.id, Ownership.role == "delivery",
        Ownership.agency_id.in_(commissioned)))


@dataclass(frozen=True)
class Item:
    day: date
    coming: Coming
    row: object  # case_id, reference, names, restricted (the dashboard's person columns)
    title: str
    step: Step | None


def _scope(session) -> queues.Scope | None:
    if not current_user.sees_everything:
        if current_user.agency_id is None:
            abort(404)
        return queues.Scope(current_user.agency_code, (current_user.agency_id,),
                            (current_user.agency_code,))
    code = request.args.get("agency", "").strip()
    return queues.scope_for_agency(session, code) if code else None


def _steps(session, items: list[Coming], today: date, code: str) -> dict[int, authority.Offers]:
    """Return what the authority table offers this user today on each case of `items`."""
    if current_user.role == UserRole.auditor:
        return {}
    kind = session.execute(select(Agency.kind).where(Agency.code == code)).scalar()
    journeys = load_journeys(session, {c.finding.case_id for c in items})
    return {case_id: authority.offers(current_user.actor, journey, today, kind=kind)
            for case_id, journey in journeys.items()}


def _step(c: Coming, offers: dict[int, authority.Offers]) -> Step | None:
    offered = offers.get(c.finding.case_id)
    if offered is None:
        return None
    step = next_step(c.finding.rule, c.finding.subject, offered)
    return OPEN_CASE if step == LOOK else step  # nothing to acknowledge yet


def items_for(session, scope: queues.Scope, today: date) -> list[Item]:
    """Return what is coming for the agency of `scope` in the next DAYS days, by day."""
    code = scope.codes[0]
    result = forecast(session, today, days=DAYS, config=current_app.config,
                      where=could_tell(scope.agency_ids[0]))
    coming = result.for_agency(code)
    ids = {c.finding.case_id for c in coming}
    rows = {r.case_id: r for r in session.execute(
        select(*queues.person_columns()).join(Person, Person.id == Case.person_id)
        .where(Case.id.in_(ids)))} if ids else {}
    titles = {r.code: r.title for r in load_rules()}
    offers = _steps(session, coming, today, code)
    return [Item(c.day, c, rows[c.finding.case_id], titles.get(c.finding.rule, c.finding.rule),
                 _step(c, offers)) for c in coming]


def weeks(items: list[Item]) -> list[tuple[date, list[Item]]]:
    """Group items by the Monday of their week."""
    def monday(item: Item) -> date:
        return item.day - timedelta(days=item.day.weekday())
    return [(first, list(group)) for first, group in groupby(items, key=monday)]


@bp.route("/coming-up")
@login_required
def index():
    session = get_session()
    scope, today = _scope(session), clock.today()
    agencies = queues.choices(session)[0] if current_user.sees_everything else []
    if scope is None:
        return render_template("coming/index.html", scope=None, agencies=agencies,
                               today=today, days=DAYS)
    ops.record_read(session, current_user.actor, "coming.viewed", agency=scope.codes[0],
                    days=DAYS)
    items = items_for(session, scope, today)
    details = access.owned_today(session, current_user,
                                 [i.row.case_id for i in items if i.row.restricted], today)
    return render_template("coming/index.html", scope=scope, agencies=agencies, today=today,
                           days=DAYS, weeks=weeks(items), count=len(items), details=details,
                           until=today + timedelta(days=DAYS))
