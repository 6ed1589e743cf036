"""Under real gunicorn with two workers: /metrics adds up both workers' counts, its names are
the documented ones and no label carries a person, a case or an address; JSON log lines carry
the request id the response returned."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gapwatch import clock
from gapwatch.scan import scan
from tests.alerts.conftest import free_port
from tests.ops.conftest import ROOT, environment

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TOKEN = "s3cret-metrics-token"
NAMES = {
    "gapwatch_http_requests", "gapwatch_http_request_duration_seconds",
    "gapwatch_scan_last_completed_timestamp_seconds", "gapwatch_scan_duration_seconds",
    "gapwatch_flags_open", "gapwatch_outbox_messages", "gapwatch_outbox_oldest_pending_age_seconds",
    "gapwatch_audit_entries", "gapwatch_import_events",
}
ALLOWED_LABELS = {"route", "method", "status", "rule", "severity", "le"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args, **_kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


def get(url: str, token: str | None = None) -> tuple[int, dict, str]:
    """GET `url` on a new connection, not following redirects."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def served(journeys, database_url, tmp_path):
    """gunicorn -w 2 serving wsgi:app on this test's database, JSON logs, metrics on."""
    scan(journeys, clock.today())
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = free_port()
    env = environment(database_url, METRICS_TOKEN=TOKEN, LOG_FORMAT="json")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    # The log goes to a file, not a pipe: a pipe nobody reads fills after a few hundred
    # requests' JSON lines, and the worker writing the next line waits for ever.
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
         "wsgi:app"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    server.log = Path(log.name)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if get(base + "/healthz")[0] == 200:
                break
        except OSError:
            assert server.poll() is None, server.log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start in 60 s"
            time.sleep(0.2)
    yield base, multiproc, server
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=30)
    log.close()


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_and_logs_under_gunicorn_with_two_workers(served):
    """One gunicorn per database, started once: it takes seconds on a shared machine."""
    base, multiproc, server = served
    # Four at once: a sync worker answers one request at a time, so the other must take some
    # once it has booted. On a busy machine the second worker can take many seconds to import
    # the app, and the first answered 500 requests before it was up: so the bound is a time.
    sent = 1  # the fixture's first /healthz
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(4) as pool:
        while len(list(multiproc.glob("counter_*.db"))) < 2:
            assert time.monotonic() < deadline, "one worker answered everything for 60 s"
            answers = list(pool.map(lambda _: get(base + "/healthz")[0], range(4)))
            assert answers == [200] * 4, answers
            sent += 4
    assert get(base + "/cases/C-1")[0] == 302  # to sign in: counted under its rule, not its path
    for _ in range(4):  # whichever worker answers, the counts are the sum of both
        status, headers, text = get(base + "/metrics", TOKEN)
        assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
        found = samples(text)
        healthz = [s.value for s in found if s.name == "gapwatch_http_requests_total"
                   and s.labels == {"route": "/healthz", "method": "GET", "status": "200"}]
        assert healthz == [sent]
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names >= NAMES, NAMES - names
    routes = {s.labels["route"] for s in found if "route" in s.labels}
    assert "/cases/<reference>" in routes and not any("C-1" in r for r in routes), routes
    flags = {(s.labels["rule"], s.labels["severity"]): s.value for s in found
             if s.name == "gapwatch_flags_open"}
    assert sum(flags.values()) == 2 and {rule for rule, _ in flags} == {"handoff-overdue"}
    for sample in found:
        assert set(sample.labels) <= ALLOWED_LABELS, sample
        for value in sample.labels.values():
            assert "@" not in value and not re.search(r"\bC-\d", value), sample


    # Only the token opens it.
    assert get(base + "/metrics")[0] == 401
    assert get(base + "/metrics", "wrong")[0] == 401
    json_log_lines_carry_the_request_id_of_the_response(base, server)


def json_log_lines_carry_the_request_id_of_the_response(base, server):
    _status, headers, _text = get(base + "/readyz")
    request_id = headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    server.terminate()
    server.wait(timeout=30)
    err = server.log.read_text()
    ours = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert ours, err
    of_the_request = [entry for entry in ours if entry.get("request_id") == request_id]
    access = [e for e in of_the_request if e["logger"] == "gapwatch.web.telemetry"]
    assert [(e["route"], e["status"], e["method"]) for e in access] == [("/readyz", 200, "GET")]
    # Every line gapwatch writes is one JSON object; gunicorn's own start-up lines are its own.
    assert all(json.loads(text) for text in err.splitlines() if text.startswith("{"))
