"""Time the daily scan against the read-once floor, on synthetic regions from `gapwatch demo`.

    .venv/bin/python bench/scan_bench.py --url sqlite:////tmp/scan100k.sqlite --cases 100000
    .venv/bin/python bench/scan_bench.py --url postgresql+psycopg://root@127.0.0.1:5432/scan500k --cases 500000

An empty database at URL is first filled with `gapwatch demo --cases N --seed 7` (migrated with
`gapwatch init`); a filled one is used as it is. Then each phase runs in a process of its own, so
its peak memory (`ru_maxrss`) is its own:

- `floor`: read the journey tables once (the scan's columns of cases with persons, ownerships,
  handoffs), streamed, doing nothing with the rows: the time no scan can beat;
- `dry-run`: every rule on every open case, the flags compared, nothing written;
- `first-scan`: the same, opening every flag and auditing each (the heaviest day);
- `rescan`: the same day again, which changes nothing;
- `next-day`: the day after, which refreshes every open flag's `last_seen_on`.

`--workers 2` runs the rules in two worker processes (`SCAN_WORKERS`). Note the machine's load
(printed last): the numbers are only as quiet as the machine was.

Prints one line per phase and, last, a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("floor", "dry-run", "first-scan", "rescan", "next-day")


def peak_mb() -> float:
    """Return the peak resident memory of this process or of any worker it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024


def read_floor(session, day: date) -> int:
    """Stream the journey tables once, as the scan reads them; return the rows read."""
    from gapwatch.models import Case, Handoff, Ownership, Person

    queries = [
        select(Case.id, Case.reference, Case.opened_on, Case.closed_on, Case.risk_level,
               Case.expected_release_on, Person.date_of_birth, Person.home_area_id,
               Person.restricted, Person.reference).join(Person, Person.id == Case.person_id),
        select(Ownership.case_id, Ownership.id, Ownership.agency_id, Ownership.role,
               Ownership.starts_on, Ownership.ends_on, Ownership.officer,
               Ownership.allocated_on, Ownership.handoff_id),
        select(Handoff.case_id, Handoff.id, Handoff.kind, Handoff.role, Handoff.from_agency_id,
               Handoff.to_agency_id, Handoff.requested_on, Handoff.due_on, Handoff.status,
               Handoff.decided_on, Handoff.reason),
    ]
    rows = 0
    for query in queries:
        result = session.execute(query, execution_options={"yield_per": 5000})
        for partition in result.partitions():
            rows += len(partition)
    session.rollback()
    return rows


def phase(url: str, name: str, day: date, workers: int) -> dict:
    """Run one phase in this process and return its numbers."""
    from gapwatch import db
    from gapwatch.scan import scan

    engine = db.make_engine(url)
    session = db.new_session(engine)
    started = time.perf_counter()
    if name == "floor":
        numbers = {"rows": read_floor(session, day)}
    else:
        when = day + timedelta(days=1) if name == "next-day" else day
        result = scan(session, when, dry_run=name == "dry-run", keep_findings=False,
                      workers=workers)
        numbers = {"cases": result.cases, "findings": result.found,
                   "opened": result.opened + result.reopened, "resolved": result.resolved,
                   "digests_s": round(result.digest_seconds, 2)}
    numbers.update(phase=name, seconds=round(time.perf_counter() - started, 2),
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
    subprocess.run([gapwatch, "init"], env=env, check=True, cwd=ROOT)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--workers", type=int, default=2, help="SCAN_WORKERS for the scans")
    args = parser.parse_args()
    from gapwatch import clock

    day = args.day or clock.today()
    if args.phase:
        print(json.dumps(phase(args.url, args.phase, day, args.workers)))
        return
    fill(args.url, args.cases)
    results = []
    for name in args.phases.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--url", args.url, "--day", day.isoformat(),
             "--phase", name, "--workers", str(args.workers)], check=True, capture_output=True, text=True, cwd=ROOT)
        numbers = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(numbers)
        print(f"{name:<11} {numbers['seconds']:>8.2f} s  peak {numbers['peak_mb']:>7.1f} MB  "
              f"{ {k: v for k, v in numbers.items() if k not in {'phase', 'seconds', 'peak_mb'}} }",
              flush=True)
    floor = next((r["seconds"] for r in results if r["phase"] == "floor"), None)
    if floor:
        for r in results:
            r["times_floor"] = round(r["seconds"] / floor, 2)
    print(json.dumps({"url": args.url.split("@")[-1], "day": day.isoformat(),
                      "workers": args.workers, "load": os.getloadavg(), "phases": results}))


if __name__ == "__main__":
    main()
