"""The command line's foundation commands: init, user add, and what is not built yet."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import inspect

from gapwatch import db
from gapwatch import operations as ops
from gapwatch.demo import load_region
from gapwatch.demo import region as demo_region
from tests.support import region


def test_init_creates_the_schema_and_running_it_again_changes_nothing(tmp_path, monkeypatch):
    from gapwatch import create_app

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output
    engine = db.make_engine(url)
    assert {"agency", "cases", "handoff", "ownership", "auditevent"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_user_add_reads_the_password_from_stdin_and_the_user_can_sign_in(app, session):
    region(session)
    result = app.test_cli_runner().invoke(
        args=["user", "add", "Duty@WMIDS.example", "--role", "case_manager", "--agency", "WMIDS",
              "--password-stdin"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created case_manager duty@wmids.example of WMIDS" in result.output
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:
        assert ops.attempt_login(uow, email="duty@wmids.example", password="a long enough secret")


def test_user_add_refuses_a_case_manager_without_an_agency(app):
    result = app.test_cli_runner().invoke(
        args=["user", "add", "x@y.example", "--role", "case_manager", "--password-stdin"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 1
    assert "a case manager needs an agency" in result.output


def read_lines(stream, count: int, seconds: float) -> list[str]:
    """Read `count` lines from a child's output, failing after `seconds` without them."""
    # Straight from the file descriptor: a buffered reader could hold lines select() cannot see.
    received, deadline = b"", time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while received.count(b"\n") < count:
            left = deadline - time.monotonic()
            assert left > 0 and selector.select(left), f"only this came: {received!r}"
            chunk = os.read(stream.fileno(), 65536)
            assert chunk, f"the command ended after: {received!r}"
            received += chunk
    return received.decode().splitlines()[:count]


def test_serve_prints_the_address_then_the_demo_logins_and_stops_on_ctrl_c(session, database_url):
    load_region(session)  # the demo's agencies and users, without its journeys
    server = subprocess.Popen(
        [Path(sys.executable).with_name("gapwatch"), "serve", "--port", "0", "--demo-logins"],
        env={**os.environ, "GAPWATCH_DATABASE_URL": database_url,
             "GAPWATCH_SECRET_KEY": "test-secret-key"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        # Ctrl+C must reach it even where the test runner's own parent ignores SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        address, heading, *logins = read_lines(server.stdout, 2 + len(demo_region.logins()), 120)
        found = re.fullmatch(r"gapwatch is serving on (http://127\.0\.0\.1:(\d+)/) \(Ctrl\+C to stop\)",
                             address)
        assert found and found.group(2) != "0", address
        assert heading == f"Demo logins (password for all: {demo_region.PASSWORD}):"
        assert logins[0].split() == ["omu@hewell.example", "HMP", "Hewell", "(HMP-HEWELL)", "case",
                                     "manager"]
        with urllib.request.urlopen(found.group(1) + "login", timeout=10) as page:
            assert page.status == 200 and "Sign in" in page.read().decode()
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()
