"""`make bench`: the import, scan and web benches at 100,000, one after the other.

    .venv/bin/python bench/run_all.py                       # SQLite, in a temporary directory
    .venv/bin/python bench/run_all.py --postgresql postgresql+psycopg://root@127.0.0.1:5432/test

1. `import_bench.py --events N`: the import of N events against its floor (SQLite, and
   PostgreSQL when a server is given);
2. `scan_bench.py --cases N`: a region of N synthetic cases loaded by `gapwatch demo` (timed), then
   the daily scan's phases against their floor;
3. `web_bench.py`: that region, scanned, served by gunicorn on 127.0.0.1:`--port`, loaded by 16
   signed-in case managers with a mean pause of a second between pages (`wrk`, which
   `scripts/setup-system wrk` installs), alone and then again while the daily scans of the days
   after it run beside it, one after another.

On PostgreSQL the region's database is a throwaway one next to the given URL's, dropped at the
end. Each bench prints its own lines; the machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(*args: str, env: dict | None = None) -> None:
    print(f"\n$ {' '.join(args)}   (load {load()})", flush=True)
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env)


def serve(url: str, port: int) -> subprocess.Popen:
    """Start gunicorn on the region at `url` and wait until it answers."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {**os.environ, "GAPWATCH_DATABASE_URL": url, "GAPWATCH_SECRET_KEY": "bench"}
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped at once (exit {server.returncode})") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on port {port} within a minute")


def last_scanned(url: str):
    """Return the last day the region at `url` was scanned for, or None."""
    from sqlalchemy import func, select

    from gapwatch import db
    from gapwatch.models import ScanRun

    engine = db.make_engine(url)
    with engine.connect() as connection:
        day = connection.execute(select(func.max(ScanRun.day))).scalar()
    engine.dispose()
    return day


def scans_beside(url: str, load: subprocess.Popen) -> None:
    """Run the daily scans of the days after the region's last scan, one after another, as the
    scheduler's (the findings counted, one worker), until `load` ends: every page it asks for
    is asked for while a daily scan runs."""
    day = last_scanned(url)
    gapwatch = str(Path(sys.executable).with_name("gapwatch"))
    env = {**os.environ, "GAPWATCH_DATABASE_URL": url, "GAPWATCH_SCAN_WORKERS": "1"}
    # From when wrk starts: the bench signs its users in first.
    while load.poll() is None and subprocess.run(["pgrep", "-x", "wrk"],
                                                 stdout=subprocess.DEVNULL).returncode:
        time.sleep(0.2)
    while load.poll() is None:
        day += timedelta(days=1)
        started = time.perf_counter()
        subprocess.run([gapwatch, "scan", "--as-of", day.isoformat(), "--summary"], cwd=ROOT,
                       env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"the daily scan of {day}: {time.perf_counter() - started:.2f} s", flush=True)
    if load.returncode:
        raise SystemExit(f"the web bench failed (exit {load.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="events, and cases")
    parser.add_argument("--postgresql", metavar="URL", help="server for throwaway databases")
    parser.add_argument("--port", type=int, default=8765, help="the web bench's server port")
    parser.add_argument("--seconds", type=int, default=30, help="the web bench's length")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("the web bench needs wrk: run scripts/setup-system wrk (make system)")
    size = str(args.size)
    pg = ["--postgresql", args.postgresql] if args.postgresql else []
    run(str(HERE / "import_bench.py"), "--events", size, *pg)
    with tempfile.TemporaryDirectory() as work:
        drop = None
        if args.postgresql:
            from import_bench import throwaway_postgresql

            url, drop = throwaway_postgresql(args.postgresql)
        else:
            url = f"sqlite:///{Path(work) / 'region.sqlite'}"
        try:
            run(str(HERE / "scan_bench.py"), "--url", url, "--cases", size)
            if last_scanned(url) is None:  # scan_bench scans copies: the pages' region first
                run(str(Path(sys.executable).with_name("gapwatch")), "scan", "--summary",
                    env={**os.environ, "GAPWATCH_DATABASE_URL": url})
            server = serve(url, args.port)
            try:
                web = (str(HERE / "web_bench.py"), "--database-url", url, "--base-url",
                       f"http://127.0.0.1:{args.port}", "--users", "16", "--think-ms", "1000",
                       "--seconds", str(args.seconds))
                run(*web)
                print("\nAgain, while the daily scans of the days after the region's last scan"
                      " run beside it, one after another:", flush=True)
                scans_beside(url, subprocess.Popen([sys.executable, *web], cwd=ROOT))
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            if drop is not None:
                drop()
    print(f"\nload average at the end: {load()}")


if __name__ == "__main__":
    main()
