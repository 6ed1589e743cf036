"""Browser tests: the app served by werkzeug in a thread, driven by Debian's chromium.

Like the rest of the suite they run on SQLite and on PostgreSQL (the `backend` fixture of
tests/conftest.py), with one chromium per module and a fresh browser context per test.
`axe_violations` runs the vendored axe-core (tests/browser/vendor/) on a page.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from gapwatch.scan import scan
from tests.web import conftest as web

PASSWORD, USERS = web.PASSWORD, web.USERS
world = web.world  # the same fixtures as tests/web's
users = web.users

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices: those catch what WCAG leaves to judgement and
# issue 4 asks for (a level-one heading per page, landmarks told apart, named table headers).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Each violation as plain data, one entry per element it was found on.
AXE_RUN = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}}).then(result =>
    result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 targets: v.nodes.map(n => n.target.join(" "))})))"""
# axe 4.7 retired its plain duplicate-id rules (it checks only ids that ARIA refers to), but a
# label's `for` or a link's #fragment still finds the first of two: so check every id.
DUPLICATE_IDS = """() => {
  const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
  return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup-system installs it (make test runs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(app, world, session, users):
    """Serve the app on a free port of 127.0.0.1, with today's flags scanned; yield its URL."""
    for who in USERS:
        users(who)
    scan(session, world["today"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page, live: str, who: str) -> None:
    page.goto(f"{live}/login")
    page.get_by_label("Email").fill(USERS[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live}/")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[str]:
    """Run axe-core's rules of AXE_TAGS on the page, and look for duplicate ids; return one line
    per violation."""
    # Evaluated through the browser's debugging protocol, which the page's strict CSP (no
    # inline script, issue 12) does not govern: a script tag would be refused.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']}: {', '.join(v['targets'])}"
        for v in page.evaluate(AXE_RUN, AXE_TAGS)
    ] + [f"{page.url}: duplicate id {id_!r}" for id_ in page.evaluate(DUPLICATE_IDS)]
