"""A small region for the API: case C-1 in HMP Hewell's custody, and a token per agency."""

from __future__ import annotations

import pytest

from gapwatch import operations as ops
from tests.support import D, act, event, load, person_and_case, region

RELEASE = D("2026-06-10")


class Api:
    """Calls the API with one agency's token through the Flask test client."""

    def __init__(self, client, secret: str | None):
        self.client, self.secret = client, secret

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", query_string=params, headers=self.headers())

    def post(self, payload=None, *, raw: bytes | None = None, key: str | None = None):
        extra = {"Idempotency-Key": key} if key else {}
        if raw is not None:
            return self.client.post("/api/v1/events", data=raw, headers=self.headers(
                {**extra, "Content-Type": "application/json"}))
        return self.client.post("/api/v1/events", json=payload, headers=self.headers(extra))


@pytest.fixture
def world(session):
    """C-1: Sam, home area WMIDS, in HMP Hewell's custody since 10 January, release 10 June."""
    region(session)
    person_and_case(session, expected_release_on=RELEASE)
    load(session, event("C-1", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                        role="custody"))
    return session


@pytest.fixture
def tokens(world):
    """A secret per agency, for a system named after it (`hmp-hewell-system`, ...)."""
    secrets = {}
    for agency in ("HMP-HEWELL", "WMIDS", "STAFFS"):
        _token, secrets[agency] = act(world, ops.create_token, agency=agency,
                                      name=f"{agency.lower()}-system")
    return secrets


@pytest.fixture
def api(client, tokens):
    """`api["WMIDS"]` calls the API as West Midlands Probation's system."""
    return {agency: Api(client, secret) for agency, secret in tokens.items()}


def release_plan(on: str = "2026-05-01", **values) -> dict:
    """HMP Hewell asks WMIDS to take supervision of C-1 from the release day."""
    base = dict(from_agency="HMP-HEWELL", to_agency="WMIDS", role="supervision",
                kind="transfer", due_on=RELEASE)
    return event("C-1", on, "handoff_requested", **{**base, **values})
