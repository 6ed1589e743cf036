"""The scan's digests are read once its flags are committed, with no lock held."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gapwatch import alerts, db
from gapwatch import operations as ops
from gapwatch.alerts import digest
from gapwatch.models import OutboxMessage, ScanRun
from gapwatch.scan import scan
from tests.alerts.conftest import DAY, scenario
from tests.support import system

CONFIG = {"BASE_URL": "http://gapwatch.test"}


def outbox_rows(session) -> int:
    session.rollback()
    return session.execute(select(func.count()).select_from(OutboxMessage)).scalar()


def test_people_write_while_the_scan_reads_its_digests(session, database_url, monkeypatch):
    scenario(session)
    other = db.new_session(db.make_engine(database_url))
    written = []
    gather = digest.gather

    def gather_while_someone_writes(*args, **kwargs):
        # Someone acts as the digests are read: the writers' lock is free, so the write
        # commits at once instead of waiting for the mails (0.5 s, then WritersBusy).
        with ops.unit_of_work(other, system(), wait=0.5):
            pass
        written.append(True)
        yield from gather(*args, **kwargs)

    monkeypatch.setattr(alerts, "gather", gather_while_someone_writes)
    scan(session, DAY, config=CONFIG)
    other.close()
    assert written == [True]
    assert outbox_rows(session) > 0


def test_a_scan_stopped_before_its_digests_writes_them_when_the_day_is_scanned_again(
        session, monkeypatch):
    scenario(session)

    def stopped(*args, **kwargs):
        raise RuntimeError("the process stopped")

    monkeypatch.setattr(alerts, "read_mails", stopped)
    with pytest.raises(RuntimeError):
        scan(session, DAY, config=CONFIG)
    session.rollback()
    assert session.execute(select(ScanRun.day)).scalars().all() == [DAY]  # the flags are in
    assert outbox_rows(session) == 0
    monkeypatch.undo()
    again = scan(session, DAY, config=CONFIG)
    assert again.opened + again.reopened + again.resolved == 0  # the flags were already right
    assert outbox_rows(session) > 0
