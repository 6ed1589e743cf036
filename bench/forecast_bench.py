"""Time the 30-day forecast against one daily scan of the same region, on `gapwatch demo` data.

    .venv/bin/python bench/forecast_bench.py --url sqlite:////tmp/forecast100k.sqlite --cases 100000
    .venv/bin/python bench/forecast_bench.py --url postgresql+psycopg://root@127.0.0.1:5432/forecast100k --cases 100000

An empty database at URL is first filled as `bench/scan_bench.py` fills it, and copied as it
copies it (the copy is scanned, then dropped). Then, each in a process of its own (so that CPU
time and peak memory are its own):

- `scan`: one daily scan of the day as a dry run (every rule on every open case, the flags
  compared, nothing written), in one process: the cheapest daily scan there is;
- `full`: `gapwatch.forecast.forecast` of the same day for `--days` (30) days ahead, reading
  every open case (`full=True`: what it does before a region's first scan);
- (untimed: the day is scanned, writing its flags and each case's next check)
- `forecast`: the same forecast after that scan, reading only the cases whose next check falls
  within the days ahead, as the digests' section and the Coming up page do.

Prints each phase's wall seconds, CPU seconds (user + system of the process), peak memory and
the cases read, then each forecast's ratio to the scan, then a JSON summary with the machine's
load. The database server's own CPU time is not counted (the same reads serve every phase).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_bench import copy_of, drop, fill  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("scan", "full", "scanned", "forecast")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def phase(url: str, name: str, day: date, days: int) -> dict:
    from gapwatch import db
    from gapwatch.forecast import forecast
    from gapwatch.scan import scan

    engine = db.make_engine(url)
    session = db.new_session(engine)
    wall, cpu = time.perf_counter(), cpu_seconds()
    if name in ("scan", "scanned"):
        result = scan(session, day, dry_run=name == "scan", keep_findings=False, workers=1)
        numbers = {"cases": result.cases, "findings": result.found}
    else:
        result = forecast(session, day, days=days, full=name == "full")
        numbers = {"cases": result.cases, "coming": len(result.coming)}
    numbers.update(phase=name, seconds=round(time.perf_counter() - wall, 2),
                   cpu_s=round(cpu_seconds() - cpu, 2),
                   peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    session.close()
    engine.dispose()
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--day", type=date.fromisoformat, default=None)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from gapwatch import clock

    day = args.day or clock.today()
    if args.phase:
        print(json.dumps(phase(args.url, args.phase, day, args.days)))
        return
    fill(args.url, args.cases)
    scratch = copy_of(args.url)
    results = {}
    try:
        for name in PHASES:
            out = subprocess.run(
                [sys.executable, __file__, "--url", scratch, "--day", day.isoformat(),
                 "--days", str(args.days), "--phase", name],
                check=True, capture_output=True, text=True, cwd=ROOT)
            numbers = json.loads(out.stdout.strip().splitlines()[-1])
            results[name] = numbers
            print(f"{name:<9} {numbers['seconds']:>8.2f} s wall  {numbers['cpu_s']:>8.2f} CPU s  "
                  f"peak {numbers['peak_mb']:>7.1f} MB  cases read {numbers['cases']:,}",
                  flush=True)
    finally:
        drop(scratch)
    ratio = {}
    for name in ("full", "forecast"):
        ratio[name] = {k: round(results[name][k] / results["scan"][k], 2)
                       for k in ("seconds", "cpu_s")}
        print(f"{name} / scan: {ratio[name]['cpu_s']}x CPU, {ratio[name]['seconds']}x wall",
              flush=True)
    print(json.dumps({"url": args.url.split("@")[-1], "day": day.isoformat(), "days": args.days,
                      "load": os.getloadavg(), "phases": results, "ratio": ratio}))


if __name__ == "__main__":
    main()
