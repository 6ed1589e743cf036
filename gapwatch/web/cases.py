"""Case search, and the case page: the person, who is accountable, flags, the journey picture.

Every view of a case page is written to the audit trail. A case the user may not see is a 404;
a restricted person's name and details show only to the agencies that own the case today and
to auditors (`gapwatch.details`; admins are not among them), while the journey itself stays visible so the home area can act on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import and_, bindparam, func, or_, select

from gapwatch import authority, clock
from gapwatch import operations as ops
from gapwatch.db import get_session
from gapwatch.details import PERSONAL
from gapwatch.models import (
    Agency,
    AuditEvent,
    Case,
    Flag,
    FlagAcknowledgement,
    FlagStatus,
    Person,
    UserRole,
)
from gapwatch.queries import load_journeys
from gapwatch.web import forms, links, timeline
from gapwatch.web.access import (
    case_or_404,
    details_opened,
    may_open_details,
    owned_today,
    page_number,
    visible,
)
from gapwatch.web.queues import SEVERITY_RANK

bp = Blueprint("cases", __name__)
PAGE_SIZE = 50
HISTORY_LIMIT = 200


@bp.route("/cases")
@login_required
def index():
    session = get_session()
    query = request.args.get("q", "").strip()
    page = page_number()
    where = [visible(current_user)]
    if query:
        pattern = f"%{query.lower()}%"
        # A person's reference and names are details: a key only to those who may open them,
        # or a search would confirm who a restricted person is.
        personal = or_(func.lower(Person.reference).like(pattern),
                       func.lower(Person.given_name + " " + Person.family_name).like(pattern))
        where.append(or_(
            func.lower(Case.reference).like(pattern),
            and_(details_opened(current_user, clock.today()), personal),
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
    shown = rows[:PAGE_SIZE]
    details = owned_today(session, current_user, [c.id for c, p, _h in shown if p.restricted],
                          clock.today())
    return render_template(
        "cases/index.html", rows=shown, query=query, page=page, more=len(rows) > PAGE_SIZE,
        details=details,
    )


def eighteenth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February
        return date(born.year + 18, 3, 1)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# The page's reads after the audit entry, built once: Core rows of the columns it shows.
PERSON_QUERY = select(
    Person.given_name, Person.family_name, Person.reference, Person.date_of_birth,
).where(Person.id == bindparam("person_id"))
FLAGS_QUERY = (
    select(Flag.id, Flag.rule, Flag.subject, Flag.severity, Flag.since, Flag.message,
           Flag.status, Flag.notify)
    .where(Flag.case_id == bindparam("case_id"), Flag.status != FlagStatus.resolved)
    .order_by(SEVERITY_RANK, Flag.since)
)
ACKS_QUERY = (
    select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency, FlagAcknowledgement.note,
           FlagAcknowledgement.acknowledged_by, FlagAcknowledgement.acknowledged_on,
           FlagAcknowledgement.snoozed_until)
    .join(Flag, Flag.id == FlagAcknowledgement.flag_id)
    .where(Flag.case_id == bindparam("case_id"), Flag.status != FlagStatus.resolved)
    .order_by(FlagAcknowledgement.acknowledged_on, FlagAcknowledgement.agency)
)
VIEWED = "case.viewed"
# What happened to the case; its views are counted apart (the audit trail lists each one).
HISTORY_QUERY = (
    select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
    .where(AuditEvent.case_id == bindparam("case_id"), AuditEvent.action != VIEWED)
    .order_by(AuditEvent.seq.desc()).limit(HISTORY_LIMIT)
)
VIEWS_QUERY = select(func.count()).where(
    AuditEvent.case_id == bindparam("case_id"), AuditEvent.action == VIEWED
)
AGENCIES_QUERY = (select(Agency.code, Agency.name, Agency.kind).where(Agency.active)
                  .order_by(Agency.code))
KIND_QUERY = select(Agency.kind).where(Agency.code == bindparam("code"))


EMPTY = (None, "", [], {})
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _word(key: str) -> str:
    """A detail's key in words: "to_agency" is "to agency"."""
    return key.replace("_", " ")


def _kept(key: str) -> bool:
    """Whether a detail means something to a person: record ids and sequence numbers do not,
    nor a flag's id or its subject (the rule's own key, "gap:2026-11-29"), whose message says
    the same in words."""
    return key not in ("id", "seq", "case_id", "flag", "subject") and not key.endswith("_id")


def _said(value) -> str:
    """One value in words: a list as "a, b", a day as "25 November 2026", nothing as "—", a
    record inside a detail as "(status rejected, decided on 30 September 2026)", never Python's repr."""
    if value in EMPTY:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(_said(v) for v in value)
    if isinstance(value, dict):  # inside a flag's evidence: "(agency HMP-HEWELL, role custody)"
        return "(" + ", ".join(f"{_word(k)} {_said(v)}" for k, v in value.items()
                               if v not in EMPTY and _kept(k)) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and ISO_DAY.fullmatch(value):
        return clock.long_day(date.fromisoformat(value))
    return str(value)


def _value(key: str, value, details_shown: bool) -> str:
    return "withheld" if key in PERSONAL and not details_shown else _said(value)


def _shown(value, details_shown: bool) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{_word(k)}: {_value(k, v, details_shown)}" for k, v in value.items()
                         if v not in EMPTY and _kept(k))
    return _said(value)


def _changes(before: dict, after: dict, details_shown: bool) -> str:
    """Say what an entry changed, field by field: "status: pending → accepted"."""
    keys = [*after, *(k for k in before if k not in after)]
    return "; ".join(
        f"{_word(k)}: {_value(k, before.get(k), details_shown)} → {_value(k, after.get(k), details_shown)}"
        for k in keys if before.get(k) != after.get(k) and _kept(k)
    ) or "nothing"


def what_happened(action: str) -> str:
    """An audit action in words: "handoff.requested" is "Handoff requested"."""
    said = action.replace(".", " ").replace("_", " ")
    return said[:1].upper() + said[1:]


def history_lines(rows, details_shown: bool) -> list[tuple]:
    """Return the history's lines: when, who, what, and each detail worth showing, in words.

    An entry with a `before` and an `after` shows only what changed between them; one with only
    an `after` made a record, shown as "new". A detail's text is None where it names the person
    and their details are withheld (inside `before` and `after` too). Record ids are left out.
    Done here, not in the template, where it costs twice as much per entry.
    """
    lines = []
    for at, actor, action, detail in rows:
        before, after = detail.get("before"), detail.get("after")
        details = []
        if isinstance(before, dict) and isinstance(after, dict):
            details.append(("changed", _changes(before, after, details_shown)))
            detail = {k: v for k, v in detail.items() if k not in ("before", "after")}
        elif isinstance(after, dict) and before is None:  # a record made: what it holds
            detail = {("new" if k == "after" else k): v for k, v in detail.items()}
        details += [
            (_word(key), None if not details_shown and key in PERSONAL else _shown(value, details_shown))
            for key, value in detail.items() if value not in EMPTY and _kept(key)
        ]
        lines.append((at, actor, what_happened(action), details))
    return lines


def acknowledgements(rows) -> dict[int, list]:
    """Group acknowledgement rows by their flag."""
    found: dict[int, list] = {}
    for row in rows:
        found.setdefault(row.flag_id, []).append(row)
    return found


def told_of_gap(flags) -> list[str]:
    """Return who the open `no-accountable-owner` flags among `flags` tell."""
    return [code for f in flags if f.rule == "no-accountable-owner" for code in f.notify or []]


@dataclass(frozen=True)
class GapAhead:
    """A gap an open flag warns of, and the handoff that closes it before it opens: the home
    area asked to take supervision from the day the gap would open (`due`; None: it is late)."""

    rule: str
    home_area: str
    due: date | None


# The flags that warn of a gap to come: the youth service's duty ending at 18, a release.
WARN_OF_A_GAP = ("age-transition", "release-unplanned")


def gap_ahead(flags, offered: authority.Offers, journey, today: date, *, agency: str | None,
              birthday: date | None) -> GapAhead | None:
    """Return the gap an open flag of `flags` warns of, if the user may hand the case on to the
    person's home area to close it (a transfer of supervision, as the authority table offers).

    `birthday` is None where the person's details are withheld: the day is one of them.
    """
    home = offered.home_to_ask(journey, agency)
    if home is None:
        return None
    for f in flags:
        if f.rule in WARN_OF_A_GAP:
            day = birthday if f.rule == "age-transition" else journey.case.expected_release_on
            return GapAhead(f.rule, home, day if day is not None and day > today else None)
    return None


def render_case(reference: str, status: int = 200, *, refused: forms.Refused | None = None):
    """Render the case page (after auditing the view) with the given HTTP status.

    `refused` is a refused form of the page: it is shown open, with its errors at their fields.
    """
    session = get_session()
    case = case_or_404(session, current_user, reference)
    case_id, person_id = case.id, case.person_id  # recording the view expires `case`
    journey = load_journeys(session, [case_id])[case_id]
    today = clock.today()
    allowed = may_open_details(current_user, journey, today)
    # Its own short transaction under the chain's lock only: a view never waits for a scan.
    ops.record_read(session, current_user.actor, VIEWED, case_id=case_id,
                    case_reference=journey.case.reference, details_shown=allowed)
    read = session.connection().execute
    person = read(PERSON_QUERY, {"person_id": person_id}).one() if allowed else None
    flags = read(FLAGS_QUERY, {"case_id": case_id}).all()
    actor = current_user.actor
    kind = (read(KIND_QUERY, {"code": actor.agency}).scalar() if actor.agency else None)
    offered = authority.offers(actor, journey, today, kind=kind, told=told_of_gap(flags))
    agencies = read(AGENCIES_QUERY).all() if offered.ask else []
    in_gap = authority.in_gap(journey, today)
    # Who was asked to end the gap, or will end it: said by the flag, not offered again.
    in_hand = journey.in_hand(today) if in_gap else []
    birthday = eighteenth_birthday(journey.case.date_of_birth)
    ahead = None if in_gap else gap_ahead(flags, offered, journey, today, agency=actor.agency,
                                          birthday=birthday if allowed else None)
    identity = links.identity_of(session, person_id, journey, allowed, today)
    # The journey picture: the window around today, or the whole journey (?journey=whole).
    picture = timeline.picture_of(session, identity.journey, today, details_shown=bool(allowed),
                                  whole=request.args.get("journey") == "whole")
    page = render_template(
        "cases/show.html", case=journey.case, person=person, journey=journey, today=today,
        accountable=journey.accountable_on(today) if journey.case.is_open_on(today) else [],
        # The gaps through today: one begun today is said with its day too.
        gaps=journey.gaps(journey.case.opened_on, today + timedelta(days=1)),
        in_gap=in_gap, in_hand=in_hand, ahead=ahead,
        picture=picture, picture_svg=Markup(timeline.svg(picture, "journey")),
        identity=identity,
        flags=flags, acks=acknowledgements(read(ACKS_QUERY, {"case_id": case_id})),
        may_acknowledge=lambda notify: bool(authority.may_acknowledge(actor, notify)),
        acknowledgement_mark=ops.acknowledgement_mark,
        history=history_lines(read(HISTORY_QUERY, {"case_id": case_id}), person is not None),
        views=read(VIEWS_QUERY, {"case_id": case_id}).scalar_one(),
        age=age_on(journey.case.date_of_birth, today), birthday=birthday,
        birthday_near=-90 <= (birthday - today).days <= 180,
        offers=offered, my_agency=actor.agency, is_admin=current_user.role == UserRole.admin,
        forms=forms.for_case(agencies, offered, actor.agency,
                             holding=actor.agency is None or journey.owned_by(actor.agency, today),
                             asked={h.to_agency for h in [*journey.pending(),
                                                            *journey.taking_over(today)]}),
        history_limit=HISTORY_LIMIT,
        refused=refused or forms.NOTHING_REFUSED,
        address=url_for("cases.show", reference=journey.case.reference),
    )
    return page, status


@bp.route("/cases/<reference>")
@login_required
def show(reference: str):
    return render_case(reference)
