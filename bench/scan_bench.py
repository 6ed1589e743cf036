"""Time the daily scan against its floor, measured in the same run, on a region from `gapwatch demo`.

    .venv/bin/python bench/scan_bench.py --url sqlite:////tmp/scan100k.sqlite --cases 100000
    .venv/bin/python bench/scan_bench.py --url postgresql+psycopg://root@127.0.0.1:5432/scan100k --cases 100000

An empty database at URL is first filled with `gapwatch demo --cases N --seed 7` (migrated with
`gapwatch init`); a filled one is used as it is, and never changed: each run scans a copy of it
(a file copy; PostgreSQL's `CREATE DATABASE ... TEMPLATE`), dropped at the end. Each phase runs
in a process of its own, so its peak memory (`ru_maxrss`) is its own:

- `floor`: the cheapest honest read of the rows every scan reads: the cases with their persons,
  the ownerships and the handoffs, through a plain DB-API cursor into tuples (no ORM, no rules);
- `first`: the first scan of the copy, opening and auditing every flag (the heaviest day);
- `full`: `gapwatch scan --full` of the same day again: every open case read and checked;
- `change`: (not timed as a scan) 1% of the open cases changed the next day, each by an
  operation (an officer named), so each unit's re-check runs as it would;
- `daily`: the next day's scan, reading only the cases due;
- `quiet`: the scan of the day after that, nothing written between: what time alone brings
  (the demo's proposals, made on the first day, are read by the first two daily scans).

Each line gives the wall seconds, the CPU seconds of the phase's process and, on PostgreSQL, of
its server backend (`/proc/PID/stat`), the ratio of each to the floor's, and the peak memory.
Note the machine's load (printed last): the numbers are only as quiet as the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("floor", "first", "full", "change", "daily", "quiet")
TICK = os.sysconf("SC_CLK_TCK")


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024


def cpu_self() -> float:
    own, workers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def cpu_backend(pid: int | None) -> float:
    """CPU seconds of PostgreSQL's backend `pid` so far (utime + stime from /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


FLOOR_QUERIES = (
    "SELECT c.id, c.reference, c.opened_on, c.closed_on, c.risk_level, c.expected_release_on, "
    "p.date_of_birth, p.home_area_id, p.restricted, p.reference "
    "FROM cases c JOIN person p ON p.id = c.person_id ORDER BY c.id",
    "SELECT case_id, id, agency_id, role, starts_on, ends_on, officer, allocated_on, handoff_id "
    "FROM ownership ORDER BY case_id",
    "SELECT case_id, id, kind, role, from_agency_id, to_agency_id, requested_on, due_on, "
    "status, decided_on, reason FROM handoff ORDER BY case_id",
)


def read_floor(session) -> int:
    """Read the journey rows once through the plain DB-API cursor, into tuples."""
    cursor = session.connection().connection.cursor()
    rows = 0
    for query in FLOOR_QUERIES:
        cursor.execute(query)
        while batch := cursor.fetchmany(10000):
            rows += len(batch)
    cursor.close()
    session.rollback()
    return rows


def change(session, day: date, share: float) -> int:
    """Name a new officer on an accountable ownership of `share` of the open cases, each in a
    unit of work of its own, dated `day`; return the cases changed."""
    from gapwatch import operations as ops
    from gapwatch import snapshot
    from gapwatch.errors import DomainError
    from gapwatch.events import apply_record, parse_record

    known = snapshot.agencies(session)
    spans = list(snapshot.ranges(session, day, 5000))
    step = round(1 / share)
    changed = 0
    for first, last in spans:
        for journey in snapshot.journeys_between(session, day, first, last, known)[::step]:
            held = journey.accountable_on(day)
            if not held or journey.case.linked_into:
                continue
            record = parse_record({"type": "event", "case": journey.case.reference,
                                   "on": day.isoformat(), "event": "officer_assigned",
                                   "agency": held[0].agency, "role": held[0].role,
                                   "officer": "Bench Officer"})
            try:
                with ops.unit_of_work(session, ops.Actor.system("bench")) as uow:
                    apply_record(uow, record)
            except DomainError:
                continue  # the journey does not allow it (an officer already named, say)
            changed += 1
    return changed


def phase(url: str, name: str, day: date, workers: int) -> dict:
    """Run one phase in this process and return its numbers."""
    from gapwatch import db
    from gapwatch.models import ScanRun
    from gapwatch.scan import scan

    engine = db.make_engine(url)
    session = db.new_session(engine)
    backend = None if db.is_sqlite(engine) else session.execute(
        text("SELECT pg_backend_pid()")).scalar()
    session.rollback()
    cpu, server, started = cpu_self(), cpu_backend(backend), time.perf_counter()
    if name == "floor":
        numbers = {"rows": read_floor(session)}
    elif name == "change":
        numbers = {"changed": change(session, day + timedelta(days=1), 0.01)}
    else:
        when = day + timedelta(days={"daily": 1, "quiet": 2}.get(name, 0))
        result = scan(session, when, full=name == "full", keep_findings=False, workers=workers)
        read = session.execute(select(ScanRun.cases).where(ScanRun.day == when)).scalar()
        numbers = {"open": result.cases, "read": read, "findings": result.found,
                   "opened": result.opened + result.reopened, "resolved": result.resolved,
                   "digests_s": round(result.digest_seconds, 2)}
    numbers.update(phase=name, seconds=round(time.perf_counter() - started, 2),
                   cpu_s=round(cpu_self() - cpu, 2),
                   server_cpu_s=round(cpu_backend(backend) - server, 2),
                   peak_mb=round(peak_mb(), 1))
    session.close()
    engine.dispose()
    return numbers


def fill(url: str, cases: int) -> None:
    """Fill an empty database with `gapwatch demo --cases N`."""
    from gapwatch import db
    from gapwatch.models import Case

    env = {**os.environ, "GAPWATCH_DATABASE_URL": url, "GAPWATCH_SECRET_KEY": "bench"}
    gapwatch = str(Path(sys.executable).with_name("gapwatch"))
    subprocess.run([gapwatch, "init"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        have = connection.execute(select(func.count()).select_from(Case)).scalar()
    engine.dispose()
    if have:
        print(f"using the {have:,} cases already in the database", flush=True)
        return
    started = time.perf_counter()
    subprocess.run([gapwatch, "demo", "--cases", str(cases), "--seed", "7"], env=env,
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    print(f"loaded {cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)


def copy_of(url: str) -> str:
    """Return the URL of a scratch copy of the database at `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        scratch = f"{parsed.database}.bench-{os.getpid()}"
        shutil.copyfile(parsed.database, scratch)
        return parsed.set(database=scratch).render_as_string(hide_password=False)
    name = f"{parsed.database}_bench_{os.getpid()}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help="SCAN_WORKERS for the scans")
    args = parser.parse_args()
    from gapwatch import clock

    day = args.day or clock.today()
    if args.phase:
        print(json.dumps(phase(args.url, args.phase, day, args.workers)))
        return
    fill(args.url, args.cases)
    scratch = copy_of(args.url)
    results = []
    try:
        for name in PHASES:
            out = subprocess.run(
                [sys.executable, __file__, "--url", scratch, "--day", day.isoformat(),
                 "--phase", name, "--workers", str(args.workers)],
                capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                sys.exit(f"phase {name} failed:\n{out.stderr}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        drop(scratch)
    floor = results[0]
    floor_cpu = floor["cpu_s"] + floor["server_cpu_s"]
    for r in results:
        r["x_floor"] = round(r["seconds"] / floor["seconds"], 2)
        r["x_floor_cpu"] = round((r["cpu_s"] + r["server_cpu_s"]) / floor_cpu, 2)
        rest = {k: v for k, v in r.items() if k not in {
            "phase", "seconds", "cpu_s", "server_cpu_s", "peak_mb", "x_floor", "x_floor_cpu"}}
        print(f"{r['phase']:<7} {r['seconds']:>7.2f} s wall ({r['x_floor']:>5.2f}x floor)  "
              f"CPU {r['cpu_s']:>6.2f} s + server {r['server_cpu_s']:>5.2f} s "
              f"({r['x_floor_cpu']:>5.2f}x)  peak {r['peak_mb']:>6.1f} MB  {rest}", flush=True)
    print(json.dumps({"url": args.url.split("@")[-1], "day": day.isoformat(),
                      "workers": args.workers, "load": os.getloadavg(), "phases": results}))


if __name__ == "__main__":
    main()
