"""Time the dashboard and a case page one request at a time, with the CPU each takes; print ms.

    .venv/bin/python bench/page_cpu.py --base-url http://127.0.0.1:8765 \\
        --database-url postgresql+psycopg://root@127.0.0.1:5432/bench --requests 300

Run it against gunicorn and PostgreSQL on this machine, with no other load: it reads the CPU
time of every `postgres` and `gunicorn` process from /proc before and after each page's
requests, so anything else they do in between counts too. It signs in as the web bench's first
case manager (run bench/web_bench.py once first) and asks for `/` and then for case pages of
that user's agency, sequentially (the dashboard twice: served from the worker's kept bodies, and
rendered afresh each time); it prints, per page, the wall time and the CPU time of
PostgreSQL and of gunicorn per request. Each case page it opens adds a `case.viewed` entry.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import requests
from sqlalchemy import select

from gapwatch import db
from gapwatch.models import Case, User
from gapwatch.web.access import visible_to_agency

PASSWORD = "bench-password-123"  # bench/web_bench.py's
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[str, float]:
    """Return the CPU seconds used so far by the postgres and the gunicorn processes."""
    used = {"postgres": 0.0, "gunicorn": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        for kind in used:
            if name.startswith(kind):
                used[kind] += (int(fields[11]) + int(fields[12])) / TICKS
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    session = db.new_session(db.make_engine(args.database_url))
    email, agency_id = session.execute(
        select(User.email, User.agency_id).where(User.email.like("bench-0-%"))
    ).first() or (None, None)
    if email is None:
        raise SystemExit("no bench user: run bench/web_bench.py against this database first")
    references = session.execute(
        select(Case.reference).where(visible_to_agency(agency_id)).limit(args.requests)
    ).scalars().all()
    session.close()
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{args.base_url}/login").text).group(1)
    browser.post(f"{args.base_url}/login",
                 data={"email": email, "password": PASSWORD, "csrf_token": token})
    paths = {
        "dashboard (kept)": lambda n: "/",
        # An argument the page ignores still keys the kept bodies: each is rendered afresh.
        "dashboard (fresh)": lambda n: f"/?fresh={time.time_ns()}",
        "case": lambda n: f"/cases/{references[n % len(references)]}",
    }
    for page, path_of in paths.items():
        before, started = cpu_seconds(), time.perf_counter()
        for n in range(args.requests):
            path = path_of(n)
            answer = browser.get(args.base_url + path)
            if answer.status_code != 200:
                raise SystemExit(f"{path} answered {answer.status_code}")
        wall, after = time.perf_counter() - started, cpu_seconds()
        each = {k: (after[k] - before[k]) / args.requests * 1000 for k in after}
        print(f"{page:<18} wall {wall / args.requests * 1000:6.1f} ms  postgres CPU "
              f"{each['postgres']:5.1f} ms  gunicorn CPU {each['gunicorn']:5.1f} ms  per request")


if __name__ == "__main__":
    main()
