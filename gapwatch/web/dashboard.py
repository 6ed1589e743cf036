"""The handoff dashboard: what waits for the user's agency this morning, and what is slipping.

`/` shows every queue with its counts; `/dashboard/<queue>` shows one queue, paged and filtered.
An HTMX request (`HX-Request`) gets just the queue's fragment, so filters, pages and the
minute-by-minute refresh replace one section; without JavaScript the same links load full pages.

Everyone of an agency sees the same dashboard, so the bodies rendered are kept and served again,
with the user's own CSRF token put in, for as long as the stamps are the ones they were rendered
under (`gapwatch.stamp`: a committed write replaces the data's stamp and the stamps of the
agencies it may reach) and the day, role, agency and arguments are the same. Nothing is ever
served from before a change it shows. Each worker keeps the last bodies it used in memory, and
every worker of the server shares the bodies any of them rendered through files in the instance
folder (`DASHBOARD_KEPT_DIR`), so a body is rendered once per change, not once per worker. The
files' names carry a digest of the code and settings that render them, so a new release never
serves a body its predecessor made.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

from cachelib import FileSystemCache
from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from gapwatch import clock, stamp
from gapwatch.db import get_session
from gapwatch.models import Agency, UserRole
from gapwatch.web import access, queues
from gapwatch.web.forms import NOTHING_REFUSED
from gapwatch.web.morning import build as build_morning

log = logging.getLogger(__name__)
bp = Blueprint("dashboard", __name__)
# Pages of other features in the top bar, for auditors and admins, when they are installed.
# (The audit trail has its one link in base.html.)
READERS_PAGES: tuple[tuple[str, str], ...] = ()

QUEUES = {
    "waiting": "Waiting for your decision",
    "flags": "Open flags",
    "sent": "Sent, still unanswered",
    "unallocated": "Unallocated cases",
}
# Auditors and admins decide nothing: the handoffs wait for the agencies they read.
READERS_QUEUES = {**QUEUES, "waiting": "Waiting for a decision"}


def current_scope(session) -> queues.Scope:
    """Return the user's agency, or the agency or region an auditor or admin chose."""
    if not current_user.sees_everything:
        return queues.Scope(current_user.agency_code, (current_user.agency_id,),
                            (current_user.agency_code,))
    chosen = None
    if request.args.get("agency"):
        chosen = queues.scope_for_agency(session, request.args["agency"])
    elif request.args.get("region"):
        chosen = queues.scope_for_region(session, request.args["region"])
    return chosen or queues.Scope("every agency", None)


def scope_args() -> dict[str, str]:
    """Return the scope's query arguments, for links that must keep it."""
    return {k: request.args[k] for k in ("agency", "region") if request.args.get(k)}


def read_queue(session, name: str, scope: queues.Scope, today, page: int = 1) -> queues.Page:
    text = request.args.get("q", "").strip() or None
    if name == "flags":
        return queues.flags(
            session, scope, today, page=page, text=text, severity=request.args.get("severity"),
            acknowledged=request.args.get("status") == "acknowledged",
            new_since=today - timedelta(days=1) if request.args.get("new") else None,
        )
    if name == "unallocated":
        return queues.unallocated(session, scope, today, page=page, text=text)
    reader = queues.waiting if name == "waiting" else queues.sent
    return reader(session, scope, page=page, text=text)


def _context(scope, today, name: str, page: queues.Page, details: set[int]) -> dict:
    return {
        "name": name, "page": page, "today": today,
        "heading": (READERS_QUEUES if current_user.sees_everything else QUEUES)[name],
        "yesterday": today - timedelta(days=1), "details": details,
        "scope": scope, "scope_args": scope_args(), "filters": request.args, "queues": QUEUES,
        "refused": NOTHING_REFUSED,
    }


# Rendered in place of the CSRF token in a kept body; each answer puts the user's own there.
# Raw markup with a "<", which escaped text (a name, a note, a filter) can never contain.
CSRF_MARK = Markup("<gapwatch-csrf-token>")
KEPT = 64  # places per worker, a body each (about 50 to 200 KB)
SHARED = 1000  # places in the shared folder, the oldest removed beyond it
SHARED_SECONDS = 24 * 3600  # a body is never served from the folder a day after it was written


class Bodies:
    """The dashboard bodies this worker used last, one for each place (whose dashboard: role,
    agency, root and arguments) of the last `KEPT` places, with what each was rendered under (its
    stamp and day); with `shared`, also those any worker of the server rendered.

    A body rendered under new stamps replaces the body of its place, in memory and in the shared
    folder, so the folder holds one file per place however often the data changes: a folder
    over its `SHARED` files reads every file's header to drop the oldest, which cost a render a
    sixth of its time once stamps filled it."""

    def __init__(self, shared: FileSystemCache | None = None, release: str = "") -> None:
        self._bodies: OrderedDict[tuple, tuple[tuple, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._shared = shared
        self._release = release

    def get(self, place: tuple, under: tuple) -> str | None:
        """Return the body of `place` rendered under `under`, or None."""
        with self._lock:
            kept = self._bodies.get(place)
            if kept is not None and kept[0] == under:
                self._bodies.move_to_end(place)
                return kept[1]
        if self._shared is not None:
            kept = self._shared.get(self._name(place))
            if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == under:
                self._keep_here(place, kept)
                return kept[1]
        return None

    def keep(self, place: tuple, under: tuple, body: str) -> None:
        self._keep_here(place, (under, body))
        if self._shared is not None:
            self._shared.set(self._name(place), (under, body))

    def _keep_here(self, place: tuple, kept: tuple[tuple, str]) -> None:
        with self._lock:
            self._bodies[place] = kept
            self._bodies.move_to_end(place)
            while len(self._bodies) > KEPT:
                self._bodies.popitem(last=False)

    def _name(self, place: tuple) -> str:
        return f"dashboard {self._release} {place!r}"


_RELEASE: dict[str, str] = {}


def release(app) -> str:
    """A digest of what renders a dashboard: the package's code and pages, and the settings the
    bodies read. Bodies kept under another digest (an earlier release) are never served."""
    if "code" not in _RELEASE:
        digest = hashlib.sha256()
        package = Path(__file__).resolve().parent.parent
        for path in sorted(package.rglob("*")):
            if path.suffix in (".py", ".html") and path.is_file():
                digest.update(str(path.relative_to(package)).encode())
                digest.update(path.read_bytes())
        _RELEASE["code"] = digest.hexdigest()
    said = f"{_RELEASE['code']} {app.config.get('RULE_ALLOCATION_DAYS')}"
    return hashlib.sha256(said.encode()).hexdigest()[:16]


def _shared_folder(app) -> FileSystemCache | None:
    """Return the folder of bodies every worker shares, or None (with a warning) when it cannot
    be made: each worker then keeps its own."""
    folder = app.config.get("DASHBOARD_KEPT_DIR") or os.path.join(app.instance_path, "kept")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        return FileSystemCache(folder, threshold=SHARED, default_timeout=SHARED_SECONDS, mode=0o600)
    except OSError as error:
        log.warning("dashboards are kept per worker: the folder %s cannot be used (%s)", folder, error)
        return None


def kept_bodies() -> Bodies:
    """Return this app's kept bodies (an app of its own, as each test makes, starts with none in
    memory; it shares the folder of its instance)."""
    bodies = current_app.extensions.get("gapwatch.dashboard")
    if bodies is None:
        app = current_app._get_current_object()
        bodies = current_app.extensions.setdefault(
            "gapwatch.dashboard", Bodies(_shared_folder(app), release(app)))
    return bodies


@bp.route("/")
@login_required
def index():
    session = get_session()
    today = clock.today()
    # A case manager's dashboard shows only cases of their agency: its stamp changes less often.
    version = (stamp.current(session) if current_user.sees_everything or current_user.agency_id is None
               else stamp.of_agency(session, current_user.agency_id))
    # The first value of each argument, as the page reads them (`?q=a&q=b` is `?q=a`).
    place = (current_user.role, current_user.agency_id, request.script_root,
             tuple(sorted((name, request.args[name]) for name in request.args)))
    under = (version, today)
    body = kept_bodies().get(place, under) if version is not None else None
    if body is None:
        body = _body(session, today)
        if version is not None:
            kept_bodies().keep(place, under, body)
    return render_template("dashboard/index.html",
                           content=Markup(body.replace(CSRF_MARK, generate_csrf())))


def render_refused(refused, status: int):
    """Show the dashboard again with a refused form of it open, its errors at their fields.

    Rendered afresh, never kept: what one person typed is theirs alone.
    """
    session = get_session()
    body = _body(session, clock.today(), refused)
    return render_template("dashboard/index.html", content=Markup(body.replace(CSRF_MARK, generate_csrf())),
                           refused=refused, address=url_for("dashboard.index")), status


def _body(session, today, refused=NOTHING_REFUSED) -> str:
    """Render the dashboard's body for this user's role, agency and the page's arguments."""
    scope = current_scope(session)
    pages = {name: read_queue(session, name, scope, today) for name in QUEUES}
    morning = None
    if scope.agency is not None and current_user.role != UserRole.auditor:
        kind = session.execute(select(Agency.kind).where(Agency.code == scope.agency)).scalar()
        # The flags section's page is the morning's own unless a filter narrowed it.
        narrowed = any(request.args.get(name) for name in ("severity", "status", "new"))
        morning = build_morning(session, scope, today, current_user.actor, kind,
                                int(current_app.config.get("RULE_ALLOCATION_DAYS", 5)),
                                request.args.get("q", "").strip() or None,
                                flags=None if narrowed else pages["flags"])
    # Whose restricted details the user may open, for every queue's rows in one query.
    restricted = [case_id for page in pages.values() for case_id in page.restricted_case_ids]
    restricted += morning.restricted_case_ids if morning else []
    details = access.owned_today(session, current_user, restricted, today)
    sections = {name: _context(scope, today, name, page, details) for name, page in pages.items()}
    agencies, regions = queues.choices(session) if current_user.sees_everything else ([], [])
    return render_template(
        "dashboard/_content.html", sections=sections, scope=scope, today=today, morning=morning,
        details=details,
        counts=queues.counts(session, scope, today), agencies=agencies, regions=regions,
        scope_args=scope_args(), csrf_mark=CSRF_MARK, refused=refused,
    )


@bp.route("/dashboard/<name>")
@login_required
def queue(name: str):
    if name not in QUEUES:
        abort(404)
    session = get_session()
    scope, today = current_scope(session), clock.today()
    page = read_queue(session, name, scope, today, access.page_number())
    details = access.owned_today(session, current_user, page.restricted_case_ids, today)
    context = _context(scope, today, name, page, details)
    if request.headers.get("HX-Request"):
        return render_template("dashboard/_queue.html", **context)
    return render_template("dashboard/queue.html", **context)


@bp.app_context_processor
def navigation() -> dict:
    """Offer the top bar the other features' pages this user may open."""
    links = []
    if current_user.is_authenticated and current_user.sees_everything:
        links = [(e, label) for e, label in READERS_PAGES if e in current_app.view_functions]
    exports = "audit.export" in current_app.view_functions
    return {"more_nav": links, "exports": exports and current_user.is_authenticated
            and current_user.sees_everything}
