"""Time `gapwatch import` of a generated JSON Lines file into fresh SQLite and PostgreSQL databases.

    .venv/bin/python bench/import_bench.py --events 100000
    .venv/bin/python bench/import_bench.py --events 100000 --postgresql postgresql+psycopg://root@127.0.0.1:5432/test

The file holds the demo region's agencies and contracts, then synthetic cases (`gapwatch.demo.
synthetic`): each case's person, case and events, until there are at least N events. Each run
imports it into a new SQLite file and, when a PostgreSQL URL is given, into a throwaway database
created next to that URL's and dropped afterwards. The import runs in this process through
`gapwatch.importer.import_file`, the function `gapwatch import` calls, so start-up is not timed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from gapwatch import clock, db
from gapwatch.demo import region
from gapwatch.demo.synthetic import synthetic_cases
from gapwatch.importer import import_file
from gapwatch.models import AuditEvent


def write_file(path: Path, events: int, seed: int) -> tuple[int, int]:
    """Write the benchmark file; return (records, events) written."""
    today = clock.today()
    records = written = 0
    with path.open("w") as out:
        for record in [*region.agency_records(), *region.contract_records(today)]:
            out.write(json.dumps(record) + "\n")
            records += 1
        for case in synthetic_cases(today, 10**9, seed):
            for record in case:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            records += len(case)
            written += sum(1 for r in case if r["type"] == "event")
            if written >= events:
                return records, written
    return records, written


def time_import(url: str, path: Path) -> tuple[float, float, int]:
    """Migrate a fresh database at `url`, import the file; return wall and CPU seconds, entries."""
    db.upgrade(url)
    engine = db.make_engine(url)
    session = db.new_session(engine)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_file(session, path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    audited = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    session.close()
    engine.dispose()
    if result.skipped:
        raise SystemExit(f"{url}: the file was imported before; the benchmark needs a new database")
    return seconds, cpu, audited


def throwaway_postgresql(base_url: str):
    """Create a new PostgreSQL database next to `base_url`; return (url, drop)."""
    base = make_url(base_url)
    name = f"gapwatch_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def report(backend: str, timing: tuple[float, float, int], records: int, events: int) -> None:
    """Print wall-clock rates, and the importer's own CPU time (the machine may be shared)."""
    seconds, cpu, audited = timing
    print(f"{backend:<11} {seconds:7.2f} s  {events / seconds:8,.0f} events/s  "
          f"{records / seconds:8,.0f} records/s  | importer CPU {cpu:6.2f} s, "
          f"{events / cpu:8,.0f} events/s  ({audited:,} audit entries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgresql", metavar="URL", help="server to make a throwaway database on")
    parser.add_argument("--keep", metavar="PATH", type=Path, help="also keep the file here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = args.keep or Path(work) / "events.jsonl"
        records, events = write_file(path, args.events, args.seed)
        print(f"{path}: {records:,} records, {events:,} events "
              f"({path.stat().st_size / 1e6:.1f} MB)")
        timing = time_import(f"sqlite:///{Path(work) / 'bench.sqlite'}", path)
        report("SQLite", timing, records, events)
        if args.postgresql:
            url, drop = throwaway_postgresql(args.postgresql)
            try:
                report("PostgreSQL", time_import(url, path), records, events)
            finally:
                drop()


if __name__ == "__main__":
    main()
