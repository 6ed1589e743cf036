"""The auditors' pages: the audit trail's verdict and entries, and case-history downloads.

Auditors and admins only; both read, neither changes anything here. Every download is written
to the audit trail (`export.case`) before it is served. A restricted person's details are for
auditors only here: admins see entries and exports about them with the details withheld
(`gapwatch.details`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import wraps

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from gapwatch import audit, checkpoint, clock, details
from gapwatch.db import get_session
from gapwatch.errors import DomainError, InvalidInput
from gapwatch.exports import FORMATS, MEDIA_TYPES, export_case
from gapwatch.models import LARGEST_ID, AuditEvent
from gapwatch.queries import load_journeys
from gapwatch.web.access import case_or_404, may_open_details
from gapwatch.web.forms import NOTHING_REFUSED, PARTS, Refused, query_day
from gapwatch.web.headers import policy_with_style

bp = Blueprint("audit", __name__)
PAGE_SIZE = 100
# Longer chains are checked on request (?verify=all) or by `gapwatch audit verify`, so that the
# page stays quick: a full check reads every entry.
VERIFY_ON_VIEW = 200_000


def auditor_required(view):
    """Let only auditors and admins in; anybody else gets 403."""

    @wraps(view)
    @login_required
    def guarded(*args, **kwargs):
        if not current_user.sees_everything:
            abort(403)
        return view(*args, **kwargs)

    return guarded


DAYS = ("since", "until")


def _filters(days: bool = True) -> tuple[dict, list]:
    """Read the filter form: case, actor, action (prefix), from and to days (unless `days` is
    False: the days were refused, and the rest still filters)."""
    chosen = {k: request.args.get(k, "").strip() for k in ("case", "actor", "action")}
    chosen["since"], chosen["until"] = ((query_day("since"), query_day("until")) if days
                                        else (None, None))
    where = []
    if chosen["case"]:
        where.append(AuditEvent.case_reference == chosen["case"])
    if chosen["actor"]:
        where.append(AuditEvent.actor.contains(chosen["actor"], autoescape=True))
    if chosen["action"]:
        where.append(AuditEvent.action.startswith(chosen["action"], autoescape=True))
    if chosen["since"]:
        where.append(AuditEvent.at >= datetime.combine(chosen["since"], time(), clock.ZONE))
    if chosen["until"]:
        where.append(AuditEvent.at < datetime.combine(chosen["until"] + timedelta(days=1),
                                                      time(), clock.ZONE))
    return chosen, where


@bp.route("/audit")
@auditor_required
def index():
    session = get_session()
    refused, status = NOTHING_REFUSED, 200
    try:
        chosen, where = _filters()
    except InvalidInput as error:
        if error.field not in DAYS:
            raise
        # The form again, with what was typed and the reason at its day; the other filters
        # still apply, so the list below stays what the person asked for but the days.
        typed = {name: tuple(request.args.get(f"{name}-{part}", "") for part in PARTS)
                 for name in DAYS}
        refused = Refused(place="f", errors={error.field: error.message},
                          values={n: v for n, v in typed.items() if any(v)}, days=frozenset(DAYS))
        (chosen, where), status = _filters(days=False), 400
    before = request.args.get("before", "").strip()
    before = clock.parse_count(before, "before", low=1) if before else None
    if before and before > LARGEST_ID:
        before = None  # past every entry there can be: no bound (the column could not take it)
    query = select(AuditEvent).where(*where).order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE + 1)
    if before:
        query = query.where(AuditEvent.seq < before)
    entries = session.execute(query).scalars().all()
    # Entries about a person whose details the viewer may not open show without them.
    hidden = details.withheld_entries(session, [(e.case_id, e.detail) for e in entries],
                                      current_user.agency_id, clock.today(),
                                      auditor=current_user.opens_restricted)
    shown = {e.seq: details.withhold(e.detail) if i in hidden else e.detail
             for i, e in enumerate(entries)}
    verdict = None
    if audit.chain_head(session)[0] <= VERIFY_ON_VIEW or request.args.get("verify") == "all":
        verdict = audit.verify(session)
    held = None
    if verdict is not None and verdict.ok:
        held = checkpoint.latest_departure(session, current_app.config, verdict)
    session.rollback()  # end the read, so nothing is held open while the page renders
    older = None
    if len(entries) > PAGE_SIZE:
        kept = {k: v for k, v in chosen.items() if v}
        older = url_for("audit.index", before=entries[PAGE_SIZE - 1].seq, **kept)
    return render_template("audit/index.html", verdict=verdict, held=held, shown=shown,
                           entries=entries[:PAGE_SIZE], chosen=chosen, older=older,
                           refused=refused), status


@bp.route("/cases/<reference>/export.<fmt>")
@auditor_required
def export(reference: str, fmt: str):
    if fmt not in FORMATS:
        abort(404)
    session = get_session()
    case = case_or_404(session, current_user, reference)
    as_of = query_day("as_of")
    journey = load_journeys(session, [case.id])[case.id]
    shown = may_open_details(current_user, journey, clock.today())  # admins: not restricted ones
    try:
        written = export_case(session, current_user.actor, case.reference, fmt=fmt, as_of=as_of,
                              details_shown=shown)
    except DomainError as error:
        abort(error.status)
    suffix = f"-as-of-{as_of}" if as_of else ""
    name = f"case-{case.reference}{suffix}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    # content_type, not mimetype: the media type already names its charset.
    response = Response(written, content_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "Cache-Control": "no-store",
    })
    if fmt == "html":
        # The export is one self-contained file: its own stylesheet, allowed by its hash.
        text = written.decode() if isinstance(written, bytes) else written
        style = text.partition("<style>")[2].partition("</style>")[0]
        response.headers["Content-Security-Policy"] = policy_with_style(style)
    return response
