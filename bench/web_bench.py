"""Load the dashboard and case pages with 16 signed-in case managers under wrk; print percentiles.

    # a database with a synthetic region (`gapwatch demo --cases 500000`), served by gunicorn:
    GAPWATCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bench \\
        .venv/bin/gunicorn -w 4 -k gthread --threads 4 -b 127.0.0.1:8000 wsgi:app
    .venv/bin/python bench/web_bench.py --database-url postgresql+psycopg://root@127.0.0.1:5432/bench \\
        --base-url http://127.0.0.1:8000 --users 16 --seconds 60

Before the load starts, the bench makes one case manager per agency it uses (through the domain
operations; again on a later run is harmless), samples cases each may see, and signs each in
through the login form, like a person. Then two wrk processes (Debian's `wrk`, a C load client,
so the client takes little of the machine's CPU) run at once for `--seconds`: half the users
ask for the dashboard (`/`) and half for case pages (`/cases/<reference>`, a random one of
theirs each time), each as soon as the last answer came (`--think-ms 0`), or after a pause of
0.5 to 1.5 times `--think-ms`, like a person reading the page. Every request carries one of the
users' own session cookies, so every answer is a real, scoped, audited page. With
`--writes-per-second N` a thread also acknowledges N random open flags a second through the
domain operations, so the dashboards change under the load as they do when people work (each
write gives the data a new stamp, and every worker renders each agency's dashboard afresh).
Each write waits for the writers' lock as a web request does (`WRITE_WAIT_SECONDS`), or is
refused as busy (the 503 a person would see); the bench prints how many were committed and
refused, and their times: the longest is the longest stall a person acting then would meet.

It prints, per page, the count, non-200 answers, the 50th, 95th and 99th percentile and the
largest time in ms, and the pages per second.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import requests
from sqlalchemy import func, select

from gapwatch import clock, db
from gapwatch import operations as ops
from gapwatch.config import Defaults
from gapwatch.errors import Conflict
from gapwatch.models import Agency, Case, Flag, FlagStatus, Ownership
from gapwatch.web.access import visible_to_agency

PASSWORD = "bench-password-123"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def busiest_agencies(session, count: int) -> list[str]:
    """Return the `count` agencies with the most ownerships: the heaviest dashboards."""
    rows = session.execute(
        select(Agency.code).join(Ownership, Ownership.agency_id == Agency.id)
        .group_by(Agency.code).order_by(func.count().desc()).limit(count)
    ).scalars().all()
    return list(rows)


def prepare(url: str, users: int, sample: int) -> list[tuple[str, list[str]]]:
    """Make the bench's case managers; return (email, case references they may see) per user."""
    session = db.new_session(db.make_engine(url))
    agencies = busiest_agencies(session, users)
    if not agencies:
        raise SystemExit("the database has no ownerships: load it with `gapwatch demo --cases N`")
    accounts = []
    for i in range(users):
        code = agencies[i % len(agencies)]
        email = f"bench-{i}-{code.lower()}@bench.example"
        try:
            with ops.unit_of_work(session, ops.Actor.system("bench")) as uow:
                ops.add_user(uow, email=email, role="case_manager", password=PASSWORD, agency=code)
        except Conflict:
            pass  # made by an earlier run
        agency_id = session.execute(select(Agency.id).where(Agency.code == code)).scalar_one()
        references = session.execute(
            select(Case.reference).where(visible_to_agency(agency_id))
            .order_by(func.random()).limit(sample)
        ).scalars().all()
        accounts.append((email, list(references)))
    session.close()
    return accounts


def sign_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = browser.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                                  "csrf_token": token}, timeout=30)
    if answer.url.rstrip("/") != base.rstrip("/"):
        raise SystemExit(f"{email} could not sign in (ended at {answer.url})")
    return browser


LUA = """
local users = {%(users)s}
local think = %(think)d
local index = 0
math.randomseed(%(seed)d)

function request()
  index = index %% #users + 1
  local user = users[index]
  local path = "/"
  if #user.cases > 0 and "%(page)s" == "case" then
    path = "/cases/" .. user.cases[math.random(#user.cases)]
  end
  return wrk.format("GET", path, {["Cookie"] = user.cookie})
end

function delay()
  if think == 0 then return 0 end
  return math.floor(think * (0.5 + math.random()))
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.1f %%.1f %%.1f %%.1f %%d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.duration))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(page: str, users: list[tuple[str, list[str]]], think_ms: int, seed: int) -> str:
    entries = ", ".join(
        f"{{cookie = {lua_string(cookie)}, cases = {{{', '.join(lua_string(r) for r in refs)}}}}}"
        for cookie, refs in users
    )
    return LUA % {"users": entries, "think": think_ms, "seed": seed, "page": page}


def cookie_of(browser: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


def run(base: str, accounts: list, seconds: float, think_ms: int) -> dict[str, list[float]]:
    """Run one wrk per page with half the users each; return each page's numbers."""
    signed = [(cookie_of(sign_in(base, email)), refs) for email, refs in accounts]
    halves = {"dashboard": signed[0::2], "case": signed[1::2]}
    processes = {}
    with tempfile.TemporaryDirectory() as folder:
        for number, (page, users) in enumerate(halves.items()):
            path = os.path.join(folder, f"{page}.lua")
            with open(path, "w") as handle:
                handle.write(script(page, users, think_ms, seed=number + 1))
            processes[page] = subprocess.Popen(
                ["wrk", "-t1", f"-c{len(users)}", f"-d{int(seconds)}s", "--timeout", "30s",
                 "-s", path, base], stdout=subprocess.PIPE, text=True,
            )
        results = {}
        for page, process in processes.items():
            out, _ = process.communicate()
            line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
            if process.returncode or line is None:
                raise SystemExit(f"wrk failed for the {page} page:\n{out}")
            count, errors, p50, p95, p99, top, micros = line.split()[1:]
            statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            results[page] = [int(count), int(errors) + int(statuses.group(1) if statuses else 0),
                             float(p50), float(p95), float(p99), float(top),
                             int(count) / (int(micros) / 1e6)]
    return results


def report(results: dict[str, list[float]]) -> None:
    print(f"{'page':<10} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'pages/s':>8}")
    for page, (count, errors, p50, p95, p99, top, rate) in results.items():
        print(f"{page:<10} {count:>7} {errors:>6} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} "
              f"{top:>8.1f} {rate:>8.1f}")


def writer(url: str, per_second: float, until: float, done: list, busy: list | None = None,
           wait: float = Defaults.WRITE_WAIT_SECONDS) -> None:
    """Acknowledge a random open flag `per_second` times a second through the operations: real
    writes that change the dashboards' counts and the data stamp, as people's actions do. Each
    waits for the writers' lock up to `wait` seconds, as a web request does, else is refused as
    busy (the page's 503). `done` gets (flag, seconds from asking to committed) of each write,
    `busy` the seconds of each refused."""
    busy = [] if busy is None else busy
    session = db.new_session(db.make_engine(url))
    flags = session.execute(
        select(Flag.id, Flag.notify).where(Flag.status == FlagStatus.open)
        .order_by(func.random()).limit(5000)
    ).all()
    for flag_id, notify in flags:
        started = time.monotonic()
        if started >= until:
            break
        # Each agency acknowledges a flag for itself: a case manager of the first it tells.
        actor = ops.Actor(name="bench-writer@bench.example", agency=notify[0])
        try:
            with ops.unit_of_work(session, actor, wait=wait) as uow:
                ops.acknowledge_flag(uow, flag_id=flag_id, on=clock.today(),
                                     note="bench: looked at it")
        except Conflict:
            continue  # resolved meanwhile (by the scan running beside the load): the next one
        except db.WritersBusy:
            busy.append(time.monotonic() - started)
            continue
        done.append((flag_id, time.monotonic() - started))
        time.sleep(max(0.0, 1 / per_second - (time.monotonic() - started)))
    session.close()


def report_writes(done: list[tuple[int, float]], busy: list[float]) -> None:
    """Print the writes' count, the refused, and their times: the longest is the longest stall
    a person acting meanwhile met."""
    if not done:
        print(f"writes: none committed, {len(busy)} refused as busy")
        return
    ms = sorted(1000 * seconds for _flag, seconds in done)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    print(f"writes: {len(ms)} committed, {len(busy)} refused as busy; p50 {pick(0.5):.1f} ms, "
          f"p95 {pick(0.95):.1f} ms, longest {ms[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", required=True,
                        help="the database the server uses, to make users and sample cases")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think-ms", type=int, default=0,
                        help="a user's mean pause between pages (0: ask again at once)")
    parser.add_argument("--sample", type=int, default=200, help="cases sampled per user")
    parser.add_argument("--writes-per-second", type=float, default=0,
                        help="also acknowledge this many open flags a second (real writes)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this bench needs wrk: scripts/setup-system wrk installs it")
    accounts = prepare(args.database_url, args.users, args.sample)
    written: list[tuple[int, float]] = []
    refused: list[float] = []
    if args.writes_per_second:
        threading.Thread(target=writer, daemon=True, args=(
            args.database_url, args.writes_per_second, time.monotonic() + args.seconds,
            written, refused)).start()
    results = run(args.base_url, accounts, args.seconds, args.think_ms)
    think = f", a mean pause of {args.think_ms} ms" if args.think_ms else ", no pause between pages"
    writes = f"; {len(written)} flags acknowledged meanwhile" if args.writes_per_second else ""
    print(f"{args.users} users for {args.seconds:.0f} s against {args.base_url}{think}{writes}")
    report(results)
    if args.writes_per_second:
        report_writes(written, refused)


if __name__ == "__main__":
    main()
