"""Every refusal is problem details with the right status; bad input is never a 500."""

from __future__ import annotations

import pytest

from gapwatch import operations as ops
from tests.api.conftest import Api, release_plan
from tests.support import act, event

PROBLEM = "application/problem+json"


def problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"] == PROBLEM
    body = answer.json
    assert body["status"] == status
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    return body


@pytest.mark.parametrize(("raw", "detail"), [
    (b'{"case": "C-1",', "the body is not JSON"),
    (b"[]", "the list of events is empty"),
    (b"42", "a record must be an object, not int"),
    (b"\xff\xfe", "the body is not JSON"),
])
def test_a_body_that_is_not_events_is_400(api, raw, detail):
    assert detail in problem(api["HMP-HEWELL"].post(raw=raw), 400)["detail"]


@pytest.mark.parametrize(("change", "field", "detail"), [
    ({"colour": "red"}, "colour", "unknown key 'colour'"),
    ({"due_on": "10/06/2026"}, "due_on", "'10/06/2026' is not a date"),
    ({"due_on": 20615}, "due_on", "20615 is not a date"),  # not a Unix timestamp either
    ({"role": "mentoring"}, "role", "'mentoring' is not one of"),
    ({"event": "handoff_maybe"}, "event", "event 'handoff_maybe' is not one of"),
    ({"type": "person"}, "type", "the API takes events only"),
    ({"officer": "J. Smith\u0000"}, "body", "NUL character"),
])
def test_malformed_events_are_400_naming_the_field(api, change, field, detail):
    body = problem(api["HMP-HEWELL"].post(release_plan(**change)), 400)
    assert body["errors"][0]["field"] == field
    assert body["errors"][0]["index"] == 0
    assert detail in body["detail"]


def test_a_batch_over_the_limit_is_400(api):
    body = problem(api["HMP-HEWELL"].post([release_plan()] * 1001), 400)
    assert "send at most 1000" in body["detail"]


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer gw_not-a-token",
                                    "Bearer not-even-prefixed"])
def test_no_valid_token_is_401_with_a_bearer_challenge(client, world, header):
    headers = {"Authorization": header} if header else {}
    for answer in (client.get("/api/v1/cases/C-1", headers=headers),
                   client.post("/api/v1/events", json=release_plan(), headers=headers),
                   client.get("/api/v1/flags", headers=headers)):
        problem(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="gapwatch"')


def test_a_revoked_token_is_401_at_once(api, world, client):
    assert api["WMIDS"].get("/cases/C-1").status_code == 200
    act(world, ops.revoke_token, token="wmids-system")
    body = problem(api["WMIDS"].get("/cases/C-1"), 401)
    assert body["detail"] == "the API token is unknown or has been revoked"
    problem(api["WMIDS"].post(release_plan(from_agency="WMIDS")), 401)


def test_a_token_of_an_inactive_agency_is_401(api, world):
    from tests.support import load

    load(world, {"type": "agency", "code": "STAFFS", "name": "Staffordshire Probation",
                 "kind": "probation", "active": False})
    problem(api["STAFFS"].get("/flags"), 401)


def test_a_decision_already_made_is_a_409_conflict(api):
    api["HMP-HEWELL"].post(release_plan())
    accept = event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS")
    assert api["WMIDS"].post(accept).status_code == 200
    body = problem(api["WMIDS"].post(accept), 409)
    assert body["errors"] == [{"index": 0, "field": "to_agency", "message":
                               "cannot accept: the handoff to WMIDS for case C-1 is already accepted"}]


@pytest.mark.parametrize(("change", "detail"), [
    ({"on": "2025-12-01"}, "event 0: case C-1 cannot request a handoff to WMIDS on 1 December 2025: "
                           "it was opened on 10 January 2026"),
])
def test_a_well_formed_request_the_domain_refuses_is_422(api, change, detail):
    assert problem(api["HMP-HEWELL"].post(release_plan(**change)), 422)["detail"] == detail


def test_a_value_too_long_for_its_column_is_refused_alike_on_both_databases(api):
    release = event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL",
                    reason="x" * 501)
    detail = problem(api["HMP-HEWELL"].post(release), 400)["detail"]
    assert "reason" in detail and "500 characters" in detail


def test_a_number_is_not_a_date(api):
    release = event("C-1", "2026-06-10", "ownership_ended", agency="HMP-HEWELL")
    detail = problem(api["HMP-HEWELL"].post({**release, "on": 86400}), 400)["detail"]
    assert "86400 is not a date (YYYY-MM-DD)" in detail


def test_unknown_paths_and_methods_are_problems_too(api):
    problem(api["WMIDS"].get("/nothing-here"), 404)
    answer = api["WMIDS"].client.delete("/api/v1/events", headers=api["WMIDS"].headers())
    problem(answer, 405)
    assert answer.headers["Allow"] == "POST"


def test_the_api_needs_no_csrf_token_and_no_login(client, tokens):
    """The app's forms all need a CSRF token; the API is exempt, it has bearer tokens."""
    answer = Api(client, tokens["HMP-HEWELL"]).post(release_plan())
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("depth", [50, 100_000])
def test_deeply_nested_json_is_400_not_a_crash(api, depth):
    nested = b'{"case": "C-1", "officer": ' + b"[" * depth + b"]" * depth + b"}"
    assert problem(api["HMP-HEWELL"].post(raw=nested), 400)
