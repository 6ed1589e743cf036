"""Who may see which case: agency scoping for case managers, everything for auditors and admins.

A case manager sees a case while or after their agency has owned it, been asked to take it or
sent it on, when it is their person's home area (SPEC.md "Web and API"), or once a flag on it has
told their agency of a gap. That last reaches past SPEC.md's list for the reason it gives the
home area: whoever is told must be able to act. A linked person's flags sit on the group's lead
case, which another agency may hold; without it the agency told could neither open the case
nor acknowledge the flag. Any other case does not exist for them: a 404, in pages and in search
alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort, g, request
from flask_login import UserMixin, current_user
from sqlalchemy import bindparam, select
from sqlmodel import Session

from gapwatch import authority, details
from gapwatch.extensions import login_manager
from gapwatch.journey import Journey
from gapwatch.models import Agency, Case, User, UserRole
from gapwatch.operations import Actor
from gapwatch.queries import visible_to_agency


@dataclass(frozen=True)
class Account(UserMixin):
    """The signed-in user, as the pages see them."""

    id: int
    email: str
    role: str
    agency_id: int | None
    agency_code: str | None
    stamp: str

    @classmethod
    def of(cls, user: User, agency: Agency | None) -> Account:
        return cls(user.id, user.email, user.role, user.agency_id,
                   agency.code if agency else None, str(user.session_generation))

    def get_id(self) -> str:
        # The user's session generation is part of the id: signing out, a new password or
        # disabling the account moves it on, which ends every session of the user.
        return f"{self.id}:{self.stamp}"

    @property
    def opens_restricted(self) -> bool:
        """Auditors open every restricted person's details; others only where they own the case."""
        return self.role == UserRole.auditor

    @property
    def sees_everything(self) -> bool:
        return self.role in {UserRole.auditor, UserRole.admin}

    @property
    def actor(self) -> Actor:
        scoped = self.role == UserRole.case_manager
        return Actor(
            name=f"user:{self.email}",
            agency=self.agency_code if scoped else None,
            read_only=self.role == UserRole.auditor,
        )


def visible(account: Account):
    """Return a WHERE clause on Case that keeps the cases `account` may see."""
    if account.sees_everything:
        return Case.id.is_not(None)
    return visible_to_agency(account.agency_id)


# Built once, as every case page and action asks: the clause costs more to build than to run.
CASE_BY_REFERENCE = select(Case).where(Case.reference == bindparam("reference"))
INVOLVED_CASE_BY_REFERENCE = CASE_BY_REFERENCE.where(visible_to_agency(bindparam("agency_id")))


def case_or_404(session: Session, account: Account, reference: str) -> Case:
    """Return the case `reference` if `account` may see it; otherwise there is no such case.

    Asked once a request: an action finds its case, its handoff's case, and the page it shows
    after a refusal, all through here.
    """
    seen = g.setdefault("cases_seen", {})
    if reference not in seen:
        seen[reference] = _visible_case(session, account, reference)
    return seen[reference]


def _visible_case(session: Session, account: Account, reference: str) -> Case:
    if account.sees_everything:
        query, params = CASE_BY_REFERENCE, {"reference": reference}
    elif account.agency_id is None:
        abort(404)  # a case manager of no agency is involved in nothing
    else:
        query = INVOLVED_CASE_BY_REFERENCE
        params = {"reference": reference, "agency_id": account.agency_id}
    case = session.execute(query, params).scalar_one_or_none()
    if case is None:
        abort(404)
    return case


def may_open_details(account: Account, journey: Journey, today: date) -> bool:
    """A restricted person's details are for auditors and the agencies that own the case."""
    return bool(authority.may_open_details(account.agency_code, journey, today,
                                           auditor=account.opens_restricted))


# Routes an auditor may still post to: their own session and password, nothing of the records.
OWN_ACCOUNT_ENDPOINTS = frozenset({"auth.login", "auth.logout", "auth.change_password"})


def refuse_read_only_writes() -> None:
    """Answer 403 to an auditor's POST, PUT, PATCH or DELETE on any page but their own account."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or request.endpoint in OWN_ACCOUNT_ENDPOINTS:
        return
    if current_user.is_authenticated and current_user.role == UserRole.auditor:
        abort(403)


def owned_today(session: Session, account: Account, case_ids: list[int], today: date) -> set[int]:
    """Return those of `case_ids` whose restricted details `account` may open, in one query
    (`gapwatch.details`, the authority's open-details rule read for many cases)."""
    return details.opened_cases(session, case_ids, account.agency_id, today,
                                auditor=account.opens_restricted)


def details_opened(account: Account, today: date):
    """Return a WHERE clause on Case (joined to Person): cases whose details `account` may open."""
    return details.opened_to(account.agency_id, today, auditor=account.opens_restricted)


def page_number() -> int:
    """Return the `page` asked for, within 1 to 10,000 (a larger offset would overflow the query)."""
    return min(max(request.args.get("page", 1, type=int), 1), 10_000)


def admins_only():
    """Refuse every request of a blueprint to anyone but administrators (before_request)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role != UserRole.admin:
        abort(403)
    return None
