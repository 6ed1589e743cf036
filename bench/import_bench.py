"""Time `gapwatch import` of a generated JSON Lines file against its floor, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_bench.py --events 100000
    .venv/bin/python bench/import_bench.py --events 100000 --postgresql postgresql+psycopg://root@127.0.0.1:5432/test

The file holds the demo region's agencies and contracts, then synthetic cases (`gapwatch.demo.
synthetic`): each case's person, case and events, until there are at least N events. Each run
imports it into a new SQLite file and, when a PostgreSQL URL is given, into a throwaway database
created next to that URL's and dropped afterwards. The import runs through
`gapwatch.importer.import_file`, the function `gapwatch import` calls, in a process of its own
(so its peak memory, VmHWM, is its own), and start-up is not timed.

The floor is measured in the same run, each time in a new database: the cheapest honest way to
do the same work, which is to parse every line of the file as JSON, write exactly the rows the
import wrote (read back from its database) in one transaction (`executemany` of tuples through
the DB-API on SQLite, `COPY` on PostgreSQL), and hash every audit entry (SHA-256 of its
canonical text). It decides nothing, checks nothing and keeps nothing between rows.

Each line gives wall-clock seconds, events per second, CPU seconds of this side (the Python
process, and on PostgreSQL the server backend's, read from /proc), and peak memory; then the
import's ratio to the floor. CPU seconds are the fairer measure on a shared machine; the load
average is printed last.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gapwatch import clock, db
from gapwatch.demo import region
from gapwatch.demo.synthetic import synthetic_cases

# The tables an import writes; the floor copies their rows (those a new database does not have).
TABLES = ("agency", "contract", "person", "cases", "handoff", "ownership", "personidentifier",
          "personlink", "importbatch", "auditevent")
TICK = os.sysconf("SC_CLK_TCK")


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


def server_cpu(pid: int | None) -> float:
    """Return the CPU seconds PostgreSQL backend `pid` has used, or 0 when /proc cannot say."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _peak_mb() -> float:
    """Return this process's peak resident memory: VmHWM, which (unlike `ru_maxrss`) does not
    carry over the parent's at the exec of a spawned process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the import ---------------------------------------------------------------------------------
def time_import(url: str, path: str) -> dict:
    """Migrate a fresh database at `url` and import the file (run in a process of its own)."""
    from gapwatch.importer import import_file

    db.upgrade(url)
    engine = db.make_engine(url)
    session = db.new_session(engine)
    backend = None
    if not db.is_sqlite(engine):
        backend = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        session.rollback()
    before_mb = _peak_mb()
    server_before = server_cpu(backend)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_file(session, Path(path))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = server_cpu(backend) - server_before
    if backend is not None:
        same = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        server = server if same == backend else 0.0  # another connection: not measured
    session.close()
    engine.dispose()
    if result.skipped:
        raise SystemExit(f"{url}: the file was imported before; the benchmark needs a new database")
    return {"seconds": seconds, "cpu": cpu, "server_cpu": server, "start_mb": before_mb,
            "peak_mb": _peak_mb()}


# -- the floor ----------------------------------------------------------------------------------
def read_rows(url: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Return the import's rows of each table as the database holds them, as plain tuples."""
    engine = db.make_engine(url)
    found = {}
    with engine.connect() as connection:
        for table in TABLES:
            result = connection.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY 1')
            found[table] = (list(result.keys()), [tuple(row) for row in result])
    engine.dispose()
    return found


def time_floor(url: str, path: str, rows: dict) -> dict:
    """Parse the file, write the same rows in one transaction, hash the audit entries."""
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        present = {t: connection.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar()
                   for t in TABLES}
    engine.dispose()
    wanted = {t: v for t, v in rows.items() if not present[t]}
    before_mb = _peak_mb()
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(make_url(url).database, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        backend = None
    else:
        import psycopg

        plain_url = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        connection = psycopg.connect(plain_url)
        backend = connection.info.backend_pid
    server_before = server_cpu(backend)
    started, cpu = time.perf_counter(), time.process_time()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
    _write_rows(connection, wanted, backend is None)
    names, entries = rows["auditevent"]
    columns = [names.index(n) for n in ("action", "actor", "at", "case_id", "case_reference",
                                        "detail", "prev_hash", "seq")]
    for entry in entries:
        action, actor, at, case_id, reference, detail, prev_hash, seq = (entry[i] for i in columns)
        hashlib.sha256(
            f'{{"action":"{action}","actor":"{actor}","at":"{at}","case_id":{case_id},'
            f'"case_reference":"{reference}","detail":{detail},"prev_hash":"{prev_hash}",'
            f'"seq":{seq}}}'.encode()).hexdigest()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = server_cpu(backend) - server_before
    connection.close()
    return {"seconds": seconds, "cpu": cpu, "server_cpu": server, "start_mb": before_mb,
            "peak_mb": _peak_mb()}


def _write_rows(connection, wanted: dict, sqlite: bool) -> None:
    if sqlite:
        connection.execute("BEGIN IMMEDIATE")
        for table, (names, values) in wanted.items():
            marks = ", ".join("?" * len(names))
            connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
        connection.execute("COMMIT")
        return
    with connection.transaction(), connection.cursor() as cursor:
        for table, (names, values) in wanted.items():
            with cursor.copy(f'COPY "{table}" ({", ".join(names)}) FROM STDIN') as copy:
                for value in values:
                    copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v
                                    for v in value])


# -- running them -------------------------------------------------------------------------------
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


def in_own_process(function, *args):
    """Run `function(*args)` in a new Python process and return its answer."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def line(what: str, numbers: dict, events: int) -> str:
    cpu = numbers["cpu"] + numbers["server_cpu"]
    server = f" + server {numbers['server_cpu']:5.2f}" if numbers["server_cpu"] else ""
    return (f"  {what:<7} {numbers['seconds']:7.2f} s  {events / numbers['seconds']:8,.0f} events/s"
            f" | CPU {numbers['cpu']:6.2f} s{server} = {events / cpu:8,.0f} events per CPU-s"
            f" | peak {numbers['peak_mb']:6.0f} MB (at start {numbers['start_mb']:4.0f})")


def measure(backend: str, url: str, floor_url: str, path: Path, events: int) -> dict:
    imported = in_own_process(time_import, url, str(path))
    rows = read_rows(url)
    floor = in_own_process(time_floor, floor_url, str(path), rows)
    written = sum(len(values) for _names, values in rows.values())
    print(f"{backend}: {written:,} rows written, {len(rows['auditevent'][1]):,} of them audit "
          f"entries")
    print(line("import", imported, events))
    print(line("floor", floor, events))
    wall = imported["seconds"] / floor["seconds"]
    cpu = ((imported["cpu"] + imported["server_cpu"]) / (floor["cpu"] + floor["server_cpu"]))
    print(f"  import / floor: {wall:.1f}x wall, {cpu:.1f}x CPU", flush=True)
    return {"backend": backend, "import": imported, "floor": floor, "rows": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgresql", metavar="URL", help="server to make throwaway databases on")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep", metavar="PATH", type=Path, help="also keep the file here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        path = args.keep or Path(work) / "events.jsonl"
        records, events = write_file(path, args.events, args.seed)
        print(f"{path}: {records:,} records, {events:,} events "
              f"({path.stat().st_size / 1e6:.1f} MB)", flush=True)
        if not args.no_sqlite:
            results.append(measure("SQLite", f"sqlite:///{Path(work) / 'bench.sqlite'}",
                                   f"sqlite:///{Path(work) / 'floor.sqlite'}", path, events))
        if args.postgresql:
            url, drop = throwaway_postgresql(args.postgresql)
            floor_url, drop_floor = throwaway_postgresql(args.postgresql)
            try:
                results.append(measure("PostgreSQL", url, floor_url, path, events))
            finally:
                drop()
                drop_floor()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"events": events, "records": records, "load": os.getloadavg(),
                      "results": results}))


if __name__ == "__main__":
    main()
