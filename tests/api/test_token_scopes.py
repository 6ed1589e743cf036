"""Tokens have a scope (read, or read-write) and an expiry: on the token page, the CLI and OpenAPI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gapwatch import clock
from gapwatch import operations as ops
from gapwatch.errors import InvalidInput
from gapwatch.models import ApiToken, AuditEvent
from tests.api.conftest import Api, release_plan
from tests.support import act


@pytest.fixture
def reader(client, world):
    _token, secret = act(world, ops.create_token, agency="HMP-HEWELL", name="hewell-reader",
                         scope="read")
    return Api(client, secret)


def test_a_read_token_reads(reader):
    assert reader.get("/cases/C-1").status_code == 200
    assert reader.get("/flags").status_code == 200


def test_a_read_token_cannot_post_events_and_the_refusal_is_audited(reader, world):
    refused = reader.post(release_plan())
    assert refused.status_code == 403
    assert "scope 'read-write'" in refused.json["detail"]
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    world.rollback()
    actions = world.execute(select(AuditEvent.action)).scalars().all()
    assert "api.refused" in actions and "api.events" not in actions


def test_a_read_write_token_posts(api):
    assert api["HMP-HEWELL"].post(release_plan()).status_code == 200


def test_an_expired_token_is_refused_with_401(api, world):
    world.execute(update(ApiToken).values(expires_at=clock.now() - timedelta(seconds=1)))
    world.commit()
    refused = api["HMP-HEWELL"].get("/cases/C-1")
    assert refused.status_code == 401
    assert "expired" in refused.json["detail"]


def test_a_token_expires_after_a_year_unless_told(world):
    token, _secret = act(world, ops.create_token, agency="WMIDS", name="yearly")
    assert timedelta(days=364) < token.expires_at - clock.now() <= timedelta(days=365)


@pytest.mark.parametrize("values", [{"scope": "admin"}, {"expires_in_days": 0},
                                    {"expires_in_days": 10_000}])
def test_a_scope_or_expiry_outside_the_choices_is_refused(world, values):
    with pytest.raises(InvalidInput):
        act(world, ops.create_token, agency="WMIDS", name="odd", **values)


def test_the_cli_makes_a_read_token_and_lists_its_scope(app, world):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["token", "create", "--agency", "WMIDS", "--name", "ro",
                               "--scope", "read", "--expires-in-days", "30"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(args=["token", "list"])
    assert "\tro\tWMIDS\tread\texpires " in listed.output


def test_the_openapi_document_names_the_scopes(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["security"] == [{"bearer": ["read"]}]
    assert document["paths"]["/events"]["post"]["security"] == [{"bearer": ["read-write"]}]
    assert "read-write" in document["components"]["securitySchemes"]["bearer"]["description"]
