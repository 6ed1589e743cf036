"""Time the bulk export (`gapwatch export --all`) and watch its memory, on a synthetic region.

    .venv/bin/python bench/export_bench.py --url sqlite:////tmp/bench500/g.sqlite --cases 500000
    .venv/bin/python bench/export_bench.py --url postgresql+psycopg://root@127.0.0.1:5432/export500k --cases 500000

An empty database at URL is first migrated and filled with `gapwatch demo --cases N --seed 7`
in a process of its own; a filled one is used as it is. The export then runs in this process
while a thread samples its resident memory (VmRSS) every 0.1 s, so the numbers are the export's:
rows written per second, peak RSS (`ru_maxrss`) and the RSS after each file, which stays flat
when the export streams. `--check` also times `audit verify --export` on the zip.
Prints one line per file and, last, a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Sampler(threading.Thread):
    """Sample this process's RSS until stopped; keep the highest seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.highest, self.halt = 0.0, threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.1):
            self.highest = max(self.highest, rss_mb())


def populate(url: str, cases: int, seed: int) -> None:
    """Migrate and fill an empty database through the real command line."""
    from sqlalchemy import func, inspect, select

    from gapwatch import db
    from gapwatch.models import Case

    engine = db.make_engine(url)
    try:
        if inspect(engine).has_table("cases"):
            with engine.connect() as connection:
                if connection.execute(select(func.count()).select_from(Case)).scalar():
                    return
    finally:
        engine.dispose()
    env = {**os.environ, "GAPWATCH_DATABASE_URL": url}
    gapwatch = str(Path(sys.executable).parent / "gapwatch")
    subprocess.run([gapwatch, "init"], check=True, env=env)
    started = time.perf_counter()
    subprocess.run([gapwatch, "demo", "--cases", str(cases), "--seed", str(seed)], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    print(f"filled {url} with {cases:,} cases in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)


def export(url: str, output: Path) -> dict:
    from gapwatch import db
    from gapwatch import operations as ops
    from gapwatch.exports.bulk import export_all

    engine = db.make_engine(url)
    sampler = Sampler()
    before = rss_mb()
    after_file: dict[str, float] = {}
    started = time.perf_counter()

    def progress(name: str, rows: int) -> None:
        after_file[name] = rss_mb()
        print(f"  {name}: {rows:,} rows at {time.perf_counter() - started:.1f} s, "
              f"RSS {after_file[name]:.0f} MB", file=sys.stderr)

    sampler.start()
    manifest = export_all(engine, output, actor=ops.Actor(name="bench:export", read_only=True),
                          progress=progress)
    seconds = time.perf_counter() - started
    sampler.halt.set()
    sampler.join()
    engine.dispose()
    rows = sum(f["rows"] for f in manifest["files"].values())
    return {
        "url": engine.url.render_as_string(hide_password=True),
        "cases": manifest["files"]["cases.jsonl"]["rows"],
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "rss_before_mb": round(before, 1),
        "rss_peak_sampled_mb": round(sampler.highest, 1),
        "ru_maxrss_mb": round(peak_mb(), 1),
        "zip_mb": round(output.stat().st_size / 2**20, 1),
        "uncompressed_mb": round(sum(f["bytes"] for f in manifest["files"].values()) / 2**20, 1),
        "files": {name: f["rows"] for name, f in manifest["files"].items()},
    }


def check(url: str, output: Path) -> dict:
    from gapwatch import db
    from gapwatch.exports.check import check_export

    engine = db.make_engine(url)
    session = db.new_session(engine)
    started = time.perf_counter()
    problems, verdict, _ = check_export(session, output)
    seconds = time.perf_counter() - started
    session.close()
    engine.dispose()
    return {"check_seconds": round(seconds, 2), "check_problems": problems,
            "chain_entries": verdict.entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    parser.add_argument("--cases", type=int, default=500_000, help="cases to generate if empty")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", type=Path, default=Path("/tmp/export_bench.zip"))
    parser.add_argument("--check", action="store_true", help="also time audit verify --export")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    populate(args.url, args.cases, args.seed)
    summary = export(args.url, args.output)
    print(f"{summary['rows']:,} rows ({summary['cases']:,} cases) in {summary['seconds']} s: "
          f"{summary['rows_per_second']:,} rows/s; peak RSS {summary['ru_maxrss_mb']} MB "
          f"(sampled {summary['rss_peak_sampled_mb']} MB, {summary['rss_before_mb']} MB before)")
    if args.check:
        summary.update(check(args.url, args.output))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
