"""Tokens: created from the command line or the admin page, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from gapwatch import operations as ops
from gapwatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from gapwatch.models import ApiToken, AuditEvent
from tests.api.conftest import Api
from tests.support import PASSWORD, act, csrf_token, sign_in


def test_token_create_prints_the_secret_as_its_last_line_and_stores_only_its_hash(app, world):
    result = app.test_cli_runner().invoke(args=["token", "create", "--agency", "WMIDS",
                                                "--name", "nDelius"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("gw_") and len(secret) > 40
    world.rollback()
    stored = world.execute(select(ApiToken)).scalar_one()
    assert stored.name == "nDelius"
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(world.execute(select(AuditEvent.detail)).scalars().all())
    answer = Api(app.test_client(), secret).get("/cases/C-1")
    assert answer.status_code == 200


def test_token_list_and_revoke_by_name_or_id(app, world):
    runner = app.test_cli_runner()
    runner.invoke(args=["token", "create", "--agency", "WMIDS", "--name", "first"])
    runner.invoke(args=["token", "create", "--agency", "STAFFS", "--name", "second"])
    listing = runner.invoke(args=["token", "list"]).output
    assert re.search(r"^\d+\tfirst\tWMIDS\t.*\tnever used\tactive$", listing, re.M)
    assert runner.invoke(args=["token", "revoke", "first"]).exit_code == 0
    world.rollback()
    second = world.execute(select(ApiToken).where(ApiToken.name == "second")).scalar_one()
    assert runner.invoke(args=["token", "revoke", str(second.id)]).exit_code == 0
    listing = runner.invoke(args=["token", "list"]).output
    assert listing.count("\trevoked ") == 2
    again = runner.invoke(args=["token", "revoke", "first"])
    assert again.exit_code == 1
    assert "no active API token with id or name 'first'" in again.output


def test_token_create_for_an_unknown_agency_says_so(app, world):
    result = app.test_cli_runner().invoke(args=["token", "create", "--agency", "NOWHERE"])
    assert result.exit_code == 1
    assert "unknown agency 'NOWHERE'" in result.output


@pytest.mark.parametrize(("operation", "values", "error"), [
    (ops.create_token, {"agency": "WMIDS", "name": "dup"}, Conflict),  # an active one exists
    (ops.create_token, {"agency": "WMIDS", "name": "has space"}, InvalidInput),
    (ops.revoke_token, {"token": "nobody"}, NotFound),
])
def test_token_operations_refuse_what_they_should(world, operation, values, error):
    act(world, ops.create_token, agency="WMIDS", name="dup")
    with pytest.raises(error):
        act(world, operation, **values)


def test_only_an_unscoped_actor_manages_tokens(world):
    wmids = ops.Actor(name="user:cm@wmids.example", agency="WMIDS")
    with pytest.raises(Forbidden):
        act(world, ops.create_token, actor=wmids, agency="WMIDS")


# -- the admin page -----------------------------------------------------------------------------

def signed_in(client, world, email: str, role: str, agency: str | None = None) -> None:
    act(world, ops.add_user, email=email, role=role, password=PASSWORD, agency=agency)
    sign_in(client, email)


def _token(page) -> str:
    return csrf_token(page.get_data(as_text=True))


def test_the_admin_page_shows_a_new_token_once_and_revokes_it(client, world):
    signed_in(client, world, "admin@gapwatch.example", "admin")
    page = client.get("/admin/tokens")
    assert page.status_code == 200
    created = client.post("/admin/tokens", data={"agency": "WMIDS", "name": "case-system",
                                                 "scope": "read-write", "expires_in_days": 365,
                                                 "csrf_token": _token(page)})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    secret = re.search(r"data-token>(gw_[^<]+)<", html).group(1)
    assert Api(client, secret).get("/cases/C-1").status_code == 200
    again = client.get("/admin/tokens").get_data(as_text=True)
    assert "case-system" in again and secret not in again

    world.rollback()
    token_id = world.execute(select(ApiToken.id).where(ApiToken.name == "case-system")).scalar()
    revoked = client.post(f"/admin/tokens/{token_id}/revoke",
                          data={"csrf_token": _token(client.get("/admin/tokens"))})
    assert revoked.status_code == 303
    assert Api(client, secret).get("/cases/C-1").status_code == 401


def test_the_admin_page_is_for_admins_only(client, world):
    signed_in(client, world, "cm@wmids.example", "case_manager", agency="WMIDS")
    assert client.get("/admin/tokens").status_code == 403
