"""A small region with users of each role, and a client that signs in as one of them."""

from __future__ import annotations

import pytest

from gapwatch import operations as ops
from tests.support import (  # noqa: F401 (PASSWORD and csrf_token: for the web tests)
    PASSWORD,
    D,
    act,
    built_once,
    csrf_token,
    days,
    event,
    load,
    person_and_case,
    region,
    sign_in,
)

USERS = {
    "wmids": ("cm@wmids.example", "case_manager", "WMIDS"),
    "wmids-duty": ("duty@wmids.example", "case_manager", "WMIDS"),
    "hewell": ("cm@hewell.example", "case_manager", "HMP-HEWELL"),
    "staffs": ("cm@staffs.example", "case_manager", "STAFFS"),
    "auditor": ("auditor@inspect.example", "auditor", None),
    "admin": ("admin@gapwatch.example", "admin", None),
}


@pytest.fixture
def world(app, session):
    """Cases around HMP Hewell and West Midlands Probation, as of the real today.

    C-WAIT: in Hewell's custody, a transfer to WMIDS waiting for WMIDS's decision.
    C-GAP: released from Hewell with nobody taking over (a gap), home area WMIDS.
    C-STAFFS: owned only by Staffordshire: not WMIDS's or Hewell's to see.
    C-SECRET: a restricted person in Hewell's custody, home area WMIDS.
    """
    from gapwatch import clock
    today = clock.today()
    start = today.replace(day=1) if today.day > 20 else D("2026-01-10")
    start = min(start, today)
    return built_once(session, "world", lambda: _world(session, today, start))


def _world(session, today, start) -> dict:
    region(session)
    person_and_case(session, "C-WAIT", opened_on=start, expected_release_on=today)
    person_and_case(session, "C-GAP", opened_on=start, risk_level="high")
    person_and_case(session, "C-STAFFS", opened_on=start, home_area="STAFFS")
    person_and_case(session, "C-SECRET", opened_on=start, restricted=True)
    load(
        session,
        event("C-WAIT", start, "ownership_started", agency="HMP-HEWELL", role="custody"),
        event("C-WAIT", start, "handoff_requested", from_agency="HMP-HEWELL", to_agency="WMIDS",
              role="supervision", kind="transfer", due_on=today),
        event("C-GAP", start, "ownership_started", agency="HMP-HEWELL", role="custody"),
        # A day in custody: an ownership ending the day it starts covers no day (SPEC.md), so
        # Hewell would never have been accountable, nor on the gap's flag.
        event("C-GAP", start + days(1), "ownership_ended", agency="HMP-HEWELL",
              reason="released"),
        event("C-STAFFS", start, "ownership_started", agency="STAFFS", role="supervision"),
        event("C-SECRET", start, "ownership_started", agency="HMP-HEWELL", role="custody"),
    )
    return {"today": today, "start": start}


class Browser:
    """The Flask test client, signed in, that knows the page's CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def sign_in(self, who: str) -> Browser:
        self.token = sign_in(self.client, USERS[who][0])
        return self

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, *, token: bool = True, **kw):
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token
        return self.client.post(url, data=data, **kw)


def add_user(session, who: str) -> None:
    email, role, agency = USERS[who]
    act(session, ops.add_user, email=email, role=role, password=PASSWORD, agency=agency)


@pytest.fixture
def users(session):
    """Make the accounts of USERS on first use: hashing passwords is slow on purpose."""
    made = set()

    def ensure(who: str) -> str:
        if who not in made:
            add_user(session, who)
            made.add(who)
        return USERS[who][0]
    return ensure


@pytest.fixture
def browse(app, world, users):
    def signed_in(who: str) -> Browser:
        users(who)
        return Browser(app.test_client()).sign_in(who)
    return signed_in
