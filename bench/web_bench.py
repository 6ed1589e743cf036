"""Load the dashboard and case pages with concurrent signed-in case managers; print percentiles.

    # a database with demo data, served by gunicorn:
    GAPWATCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bench \\
        .venv/bin/gunicorn -w 8 -k gthread --threads 4 -b 127.0.0.1:8000 wsgi:app
    .venv/bin/python bench/web_bench.py --database-url postgresql+psycopg://root@127.0.0.1:5432/bench \\
        --base-url http://127.0.0.1:8000 --users 16 --seconds 30

Before the load starts, the bench makes one case manager per agency it uses (through the domain
operations; again on a later run is harmless) and samples cases each may see. Then each of
`--users` threads signs in through the login form, like a person, and alternates the dashboard
(`/`) and a case page (`/cases/<reference>`) as fast as answers come, for `--seconds`.
It prints, per page, the count, errors and the 50th, 95th and 99th percentile times in ms.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import threading
import time
from collections import defaultdict

import requests
from sqlalchemy import func, select

from gapwatch import db
from gapwatch import operations as ops
from gapwatch.errors import Conflict
from gapwatch.models import Agency, Case, Ownership
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


def user(base: str, email: str, references: list[str], until: float, times: dict, lock) -> None:
    browser = sign_in(base, email)
    chance = random.Random(email)
    mine = defaultdict(list)
    errors = defaultdict(int)
    while time.perf_counter() < until:
        for page, path in (("dashboard", "/"), ("case", f"/cases/{chance.choice(references)}")):
            started = time.perf_counter()
            answer = browser.get(base + path, timeout=60)
            mine[page].append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                errors[page] += 1
    with lock:
        for page, values in mine.items():
            times[page].extend(values)
        for page, count in errors.items():
            times[f"{page} errors"].append(count)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(times: dict, seconds: float) -> None:
    print(f"{'page':<10} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'req/s':>7}")
    for page in ("dashboard", "case"):
        values = times.get(page, [])
        if not values:
            continue
        errors = sum(times.get(f"{page} errors", []))
        print(f"{page:<10} {len(values):>7} {errors:>6} {statistics.median(values):>8.1f} "
              f"{percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f} "
              f"{max(values):>8.1f} {len(values) / seconds:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", required=True,
                        help="the database the server uses, to make users and sample cases")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sample", type=int, default=200, help="cases sampled per user")
    args = parser.parse_args()
    accounts = prepare(args.database_url, args.users, args.sample)
    times: dict[str, list] = defaultdict(list)
    lock = threading.Lock()
    until = time.perf_counter() + args.seconds
    threads = [threading.Thread(target=user, args=(args.base_url, email, refs, until, times, lock))
               for email, refs in accounts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{args.users} users for {args.seconds:.0f} s against {args.base_url}")
    report(times, time.perf_counter() - started)


if __name__ == "__main__":
    main()
