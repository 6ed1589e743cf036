"""Time building the daily digests on a database: `gather`, then `write_digests` (rolled back).

    .venv/bin/python bench/digest_bench.py DATABASE_URL [YYYY-MM-DD]

Prints the open flags, the digests built with their lines, the SQL statements each step ran
and the seconds it took. Run it after `gapwatch demo --cases N` and `gapwatch scan`.
"""

from __future__ import annotations

import sys
import time
from datetime import date

from sqlalchemy import event, func, select

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.alerts import write_digests
from gapwatch.alerts.digest import gather
from gapwatch.alerts.settings import AlertSettings
from gapwatch.models import Flag


class RolledBack(Exception):
    """Raised to leave the unit of work without committing."""


def main(url: str, day: date) -> None:
    engine = db.make_engine(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    session = db.new_session(engine)
    flags = session.execute(
        select(func.count()).select_from(Flag).where(Flag.status != "resolved")).scalar()
    print(f"{day}: {flags} open flags")
    statements.clear()
    started = time.perf_counter()
    digests = gather(session, day, AlertSettings())
    seconds = time.perf_counter() - started
    flag_lines = sum(len(d.new_flags) + len(d.open_flags) for d in digests)
    handoff_lines = sum(len(d.waiting) + len(d.overdue) for d in digests)
    print(f"gather: {len(digests)} digests, {flag_lines} flag lines, {handoff_lines} handoff "
          f"lines, {len(statements)} queries, {seconds:.2f}s")
    session.rollback()
    try:
        with ops.unit_of_work(session, ops.Actor.system("digest bench")) as uow:
            statements.clear()
            started = time.perf_counter()
            changed = write_digests(uow, day)
            uow.flush()
            seconds = time.perf_counter() - started
            print(f"write_digests: {changed} rows changed, {len(statements)} statements, "
                  f"{seconds:.2f}s (rolled back)")
            raise RolledBack
    except RolledBack:
        pass
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else clock.today())
