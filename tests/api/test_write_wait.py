"""A write that cannot get the writers' lock within `WRITE_WAIT_SECONDS` (the daily scan, an
import holding it) answers 503 with Retry-After after that bound, instead of hanging."""

from __future__ import annotations

import time
from contextlib import ExitStack

from sqlalchemy import func, select

from gapwatch import db
from gapwatch import operations as ops
from gapwatch.models import Handoff
from tests.api.conftest import release_plan


def test_a_write_waits_its_bound_for_the_lock_then_answers_503(app, api, world, engine):
    app.config["WRITE_WAIT_SECONDS"] = 0.5
    holder = db.new_session(engine)
    with ExitStack() as held:
        held.enter_context(ops.unit_of_work(holder, ops.Actor.system("scan"), wait=None))
        started = time.perf_counter()
        answer = api["HMP-HEWELL"].post(release_plan())
        waited = time.perf_counter() - started
    holder.close()
    assert answer.status_code == 503, answer.json
    assert answer.headers["Retry-After"] == "5"
    assert "writers' lock" in answer.json["detail"]
    assert 0.4 <= waited < 5, waited  # it waited its bound, not SQLite's 30 s or for ever
    world.rollback()
    assert world.execute(select(func.count()).select_from(Handoff)).scalar() == 0

    again = api["HMP-HEWELL"].post(release_plan())  # the lock is free: the same write goes in
    assert again.status_code == 200, again.json
