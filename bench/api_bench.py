"""Time the integration API over HTTP: sequential journey reads and one large event batch.

    .venv/bin/python bench/api_bench.py
    .venv/bin/python bench/api_bench.py --reads 500 --batch 1000

A fresh SQLite database in a temporary directory gets two agencies and one case in custody
through the domain operations; the app is served by werkzeug in a thread on a free port, and a
`requests` session calls it with a probation area's token, as an agency's system would.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from gapwatch import create_app, db
from gapwatch import operations as ops
from gapwatch.events import apply_record, parse_record

RECORDS = [
    {"type": "agency", "code": "HMP-HEWELL", "name": "HMP Hewell", "kind": "prison"},
    {"type": "agency", "code": "WMIDS", "name": "West Midlands Probation", "kind": "probation"},
    {"type": "person", "reference": "P-1", "given_name": "Sam", "family_name": "Example",
     "date_of_birth": "1990-07-01", "home_area": "WMIDS"},
    {"type": "case", "reference": "C-1", "person": "P-1", "opened_on": "2026-01-10"},
    {"type": "event", "case": "C-1", "on": "2026-01-10", "event": "ownership_started",
     "agency": "WMIDS", "role": "supervision"},
]


def prepare(url: str) -> str:
    """Create the schema and the region; return a WMIDS token."""
    db.upgrade(url)
    session = db.new_session(db.make_engine(url))
    with ops.unit_of_work(session, ops.Actor.system("bench")) as uow:
        for record in RECORDS:
            apply_record(uow, parse_record(record))
        _token, secret = ops.create_token(uow, agency="WMIDS", name="bench")
    session.close()
    return secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        secret = prepare(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}/api/v1"
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {secret}"
        started = time.perf_counter()
        for _ in range(args.reads):
            http.get(f"{base}/cases/C-1/journey").raise_for_status()
        each = (time.perf_counter() - started) / args.reads * 1000
        print(f"GET /cases/C-1/journey: {args.reads} sequential reads, {each:.1f} ms each")
        batch = [{"case": "C-1", "on": "2026-02-01", "event": "officer_assigned",
                  "agency": "WMIDS", "officer": f"Officer {i}"} for i in range(args.batch)]
        started = time.perf_counter()
        http.post(f"{base}/events", json=batch).raise_for_status()
        print(f"POST /events: one batch of {args.batch} events in "
              f"{time.perf_counter() - started:.2f} s")
        server.shutdown()


if __name__ == "__main__":
    main()
