"""POST /api/v1/events: the import's events, as the token's agency, all or nothing."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from gapwatch.models import AuditEvent, Handoff, IdempotencyRecord
from gapwatch.queries import load_journey
from tests.api.conftest import RELEASE, Api, release_plan
from tests.support import D, event


def fresh(session):
    """End the test's read transaction, so it sees what the API committed since."""
    session.rollback()
    return session


def handoffs(session) -> list[tuple[str, str, str]]:
    journey = load_journey(fresh(session), "C-1")
    return [(h.from_agency, h.to_agency, h.status) for h in journey.handoffs]


def test_a_release_plan_is_requested_by_the_prison_and_accepted_by_probation(api, world):
    asked = api["HMP-HEWELL"].post(release_plan())
    assert asked.status_code == 200, asked.json
    assert asked.json["applied"] == 1
    assert asked.json["events"][0]["status"] == "pending"

    taken = api["WMIDS"].post(event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS",
                                    officer="J. Smith"))
    assert taken.status_code == 200, taken.json

    journey = load_journey(fresh(world), "C-1")
    assert [(o.agency, o.role, o.starts_on, o.ends_on) for o in journey.ownerships] == [
        ("HMP-HEWELL", "custody", D("2026-01-10"), RELEASE),
        ("WMIDS", "supervision", RELEASE, None),
    ]


def test_a_single_object_without_type_is_taken_as_an_event(api, world):
    plan = release_plan()
    del plan["type"]
    assert api["HMP-HEWELL"].post(plan).status_code == 200
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "pending")]


def test_a_batch_whose_third_event_is_refused_leaves_nothing_applied(api, world):
    audit_before = world.execute(select(func.count()).select_from(AuditEvent)).scalar()
    batch = [
        event("C-1", "2026-04-01", "officer_assigned", agency="HMP-HEWELL", officer="A. Jones"),
        release_plan(),
        # Only WMIDS can accept a handoff to WMIDS: the prison's system is refused.
        event("C-1", "2026-05-02", "handoff_accepted", to_agency="WMIDS"),
    ]
    answer = api["HMP-HEWELL"].post(batch)
    assert answer.status_code == 403
    assert answer.json["errors"][0]["index"] == 2
    assert answer.json["detail"].startswith("event 2: ")
    assert handoffs(world) == []
    journey = load_journey(fresh(world), "C-1")
    assert [o.officer for o in journey.ownerships] == [None]
    # Only the refusal itself is audited: none of the batch's operations.
    actions = fresh(world).execute(
        select(AuditEvent.action).order_by(AuditEvent.seq).offset(audit_before)
    ).scalars().all()
    assert actions == ["api.refused"]


def test_a_malformed_third_event_names_its_index_and_field(api, world):
    batch = [release_plan(), event("C-1", "2026-05-02", "officer_assigned", agency="HMP-HEWELL",
                                   officer="A. Jones"),
             event("C-1", "2026-13-45", "case_closed")]
    answer = api["HMP-HEWELL"].post(batch)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["errors"][0]["index"] == 2
    assert answer.json["errors"][0]["field"] == "on"
    assert "'2026-13-45' is not a date" in answer.json["detail"]
    assert handoffs(world) == []


def test_the_same_idempotency_key_twice_applies_once_and_answers_the_same(api, world):
    first = api["HMP-HEWELL"].post(release_plan(), key="plan-c1-0001")
    again = api["HMP-HEWELL"].post(release_plan(), key="plan-c1-0001")
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "pending")]
    assert fresh(world).execute(select(func.count()).select_from(Handoff)).scalar() == 1


def test_without_a_key_a_repeated_request_is_a_conflict_not_a_second_handoff(api, world):
    assert api["HMP-HEWELL"].post(release_plan()).status_code == 200
    again = api["HMP-HEWELL"].post(release_plan())
    assert again.status_code == 409
    assert "already has a pending handoff to WMIDS" in again.json["detail"]
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "pending")]


def test_a_key_reused_with_another_body_is_refused_and_changes_nothing(api, world):
    assert api["HMP-HEWELL"].post(release_plan(), key="k-1").status_code == 200
    other = api["HMP-HEWELL"].post(release_plan(to_agency="WARKS"), key="k-1")
    assert other.status_code == 422
    assert other.json["errors"][0]["field"] == "Idempotency-Key"
    assert "different body" in other.json["detail"]
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "pending")]


def test_keys_belong_to_one_token(api, world):
    """Another agency's system using the same key is a different request."""
    assert api["HMP-HEWELL"].post(release_plan(), key="shared").status_code == 200
    taken = api["WMIDS"].post(event("C-1", "2026-05-03", "handoff_accepted", to_agency="WMIDS"),
                              key="shared")
    assert taken.status_code == 200
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "accepted")]
    assert fresh(world).execute(select(func.count()).select_from(IdempotencyRecord)).scalar() == 2


def test_a_refused_request_stores_no_answer_so_a_corrected_retry_with_the_key_works(api, world):
    refused = api["HMP-HEWELL"].post(release_plan(on="2025-01-01"), key="k-2")
    assert refused.status_code == 422  # before the case was opened
    assert api["HMP-HEWELL"].post(release_plan(), key="k-2").status_code == 200


def test_two_racing_copies_of_a_keyed_request_apply_once(app, tokens, world):
    """A client that times out and retries at once: both copies arrive together."""
    start = threading.Barrier(2)
    answers = []

    def send():
        client = Api(app.test_client(), tokens["HMP-HEWELL"])
        start.wait()
        answers.append(client.post(release_plan(), key="race-1"))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json == answers[1].json
    assert sorted(a.headers.get("Idempotent-Replayed", "no") for a in answers) == ["no", "true"]
    assert handoffs(world) == [("HMP-HEWELL", "WMIDS", "pending")]
