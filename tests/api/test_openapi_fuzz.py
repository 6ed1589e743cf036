"""The served OpenAPI document is true to the code: schemathesis finds no 5xx and no response
that breaks it, for valid and for invalid requests, with a valid token."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gapwatch.api.openapi import EXAMPLE_EVENTS
from tests.support import event, load, person_and_case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 30  # per operation and mode: small, so the suite stays fast (200 also passed)


@pytest.fixture
def fuzzed(app, world, tokens):
    """The documented example's case C-0001 exists and is Hewell's, so examples reach the domain."""
    person_and_case(world, "C-0001")
    load(world, event("C-0001", "2026-01-10", "ownership_started", agency="HMP-HEWELL",
                      role="custody"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return schema, {"Authorization": f"Bearer {tokens['HMP-HEWELL']}"}


def test_the_document_is_openapi_3_1_with_every_path_and_the_bearer_scheme(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/events", "/persons", "/cases/{reference}",
                                      "/cases/{reference}/journey", "/flags"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    events = document["components"]["schemas"]["Event"]["discriminator"]["mapping"]
    assert set(events) == {"ownership_started", "ownership_ended", "officer_assigned",
                           "handoff_requested", "handoff_accepted", "handoff_rejected",
                           "handoff_withdrawn", "case_closed"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_server_error_and_no_response_breaking_the_schema(fuzzed, mode):
    schema, headers = fuzzed
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate(headers=headers, checks=checks)

        conforms()
        tried += 1
    assert tried == 5


def test_the_documented_example_events_are_accepted_as_documented(fuzzed, client):
    schema, headers = fuzzed
    operation = schema["/events"]["POST"]
    case = operation.Case(body=EXAMPLE_EVENTS, media_type="application/json")
    response = case.call_and_validate(headers=headers, checks=CHECKS)
    assert response.status_code == 200
    assert response.json()["applied"] == 2
