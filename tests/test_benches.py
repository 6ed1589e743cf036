"""The benches' own moving parts that a test can run small: what they measure must still work."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from sqlalchemy import select

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.models import Flag, FlagAcknowledgement
from gapwatch.scan import scan

BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_web_benchs_writer_acknowledges_flags_as_an_agency_they_tell(demo, database_url):
    """It acted as the system, which acknowledges nothing since acknowledgements are per
    agency: the bench's writes stopped at the first one."""
    scan(demo, clock.today(), workers=1)
    written: list[tuple[int, float]] = []
    bench("web_bench").writer(database_url, 40, time.monotonic() + 0.5, written)
    assert written, "the writer acknowledged nothing"
    done = [flag_id for flag_id, _seconds in written]
    assert all(0 < seconds < 5 for _flag, seconds in written)
    demo.rollback()
    said = dict(demo.execute(select(FlagAcknowledgement.flag_id, FlagAcknowledgement.agency)
                             .where(FlagAcknowledgement.flag_id.in_(done))).all())
    notify = dict(demo.execute(select(Flag.id, Flag.notify).where(Flag.id.in_(done))).all())
    assert said == {flag_id: notify[flag_id][0] for flag_id in done}


def test_the_web_benchs_writer_counts_a_write_refused_while_the_writers_lock_is_held(
        demo, database_url):
    """While another unit of work holds the writers' lock (a scan applying its changes), each
    write waits its bounded time and is counted refused, as a web request answers 503."""
    scan(demo, clock.today(), workers=1)
    holder = db.new_session(db.make_engine(database_url))
    written: list[tuple[int, float]] = []
    busy: list[float] = []
    try:
        with ops.unit_of_work(holder, ops.Actor.system("test")):
            bench("web_bench").writer(database_url, 40, time.monotonic() + 0.5, written, busy,
                                      wait=0.2)
    finally:
        holder.close()
    assert written == [] and busy
    assert all(seconds >= 0.2 for seconds in busy)
