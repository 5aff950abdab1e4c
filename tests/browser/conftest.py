"""Browser fixtures: a live server over a temporary store, Debian's Chromium, Playwright, axe.

Reusable by any page's browser tests (``tests/browser/test_*.py``):

- ``live_server``: the app served by ``saferstreets serve`` (the production path: no access log)
  on 127.0.0.1 and a free port, over a migrated SQLite store holding the tiny county of
  ``tests/reports/county.py`` and a staff user per role (password ``STAFF_PASSWORD``). It has
  ``base_url``, ``db_url``, ``engine`` (to add data), ``log_path`` and ``url(path)``.
- ``browser``: one headless Chromium (``/usr/bin/chromium``; never downloaded) per session.
- ``page`` / ``page_nojs``: a fresh phone-sized (390x844) context and page, with and without
  JavaScript; ``page_noscripts`` renders as without JavaScript but lets axe run (the site's
  scripts are blocked; with JavaScript off the browser runs no timers, so axe cannot finish).
  Every request that is not to the live server is blocked, except the quick-exit site, which
  is answered by a local stub: no test touches the network.
- ``new_page(block_scripts=False, **context_options)``: the same, with other options
  (geolocation, viewport...).
- ``axe(page)``: run axe-core (WCAG 2.2 AA tags) and return its violations; ``assert_accessible``
  fails with a readable list.
- ``screenshot(page, name)``: a full-page PNG in ``test-artifacts/screenshots/``.
- ``staff_login(page, role)``: sign the page in as the staff user with that role.

Where Chromium or axe-core is missing the tests skip with the reason (and fail under CI=true).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.web.servers import wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path(os.environ.get("SAFERSTREETS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
EXIT_URL = "https://www.bbc.co.uk/weather"
EXIT_STUB = "<!doctype html><html lang='en'><title>Weather</title><h1>Weather stub</h1></html>"
STAFF_PASSWORD = "browser-test-password"
STAFF_ROLES = ("admin", "analyst", "supervisor", "ward_officer", "partner")
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) SaferstreetsBrowserTest/1.0 Mobile"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run installs it)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    db_url: str
    engine: sa.Engine
    log_path: Path
    data_dir: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.base_url + path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``saferstreets serve`` over a fresh store with the tiny county and one user per role."""
    from tests.reports.county import import_tiny_county

    import saferstreets.all_models  # noqa: F401
    from saferstreets.accounts.service import create_user
    from saferstreets.db import make_engine, session_scope
    from saferstreets.migrate import upgrade

    folder = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    import_tiny_county(engine, folder / "county")
    with session_scope(engine) as session:
        for role in STAFF_ROLES:
            create_user(session=session, username=role, password=STAFF_PASSWORD, role=role,
                        display_name=f"Test {role.replace('_', ' ')}")  # fmt: skip
    port = _free_port()
    env = {
        **os.environ,
        "SAFERSTREETS_ENV": "test",
        "SAFERSTREETS_DATABASE_URL": db_url,
        "SAFERSTREETS_DATA_DIR": str(folder / "data"),
        "SAFERSTREETS_SECRET_KEY": "browser-test-secret-key-0123456789",
        "SAFERSTREETS_QUICK_EXIT_URL": EXIT_URL,
        "SAFERSTREETS_REPORT_RATE_LIMIT": "1000",
        "SAFERSTREETS_LOOKUP_RATE_LIMIT": "1000",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SAFERSTREETS_CONFIG", None)
    env.pop("SAFERSTREETS_TILE_URL", None)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "saferstreets.cli", "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    server = LiveServer(base_url, db_url, engine, log_path, folder, process)
    try:
        wait_until_answering(process, base_url + "/healthz", server.log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session (Playwright never downloads a browser)."""
    if not CHROMIUM.exists():
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _guard_network(context: Any, base_url: str, block_scripts: bool = False) -> None:
    """Let requests reach the live server only; answer the quick-exit site with a stub."""

    def handle(route: Any) -> None:
        url = route.request.url
        if block_scripts and url.split("?")[0].endswith(".js"):
            route.abort()
        elif url.startswith(base_url + "/") or url == base_url:
            route.continue_()
        elif url.startswith("https://www.bbc.co.uk/"):
            route.fulfill(status=200, content_type="text/html", body=EXIT_STUB)
        else:
            route.abort()

    context.route("**/*", handle)


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Make phone-sized pages on fresh contexts; closed at the end of the test."""
    contexts: list[Any] = []

    def make(block_scripts: bool = False, **options: Any) -> Any:
        options.setdefault("viewport", PHONE)
        options.setdefault("device_scale_factor", 1)
        options.setdefault("is_mobile", True)
        options.setdefault("has_touch", True)
        options.setdefault("user_agent", USER_AGENT)
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "Europe/London")
        context = browser.new_context(base_url=live_server.base_url, **options)
        context.set_default_timeout(15_000)
        _guard_network(context, live_server.base_url, block_scripts=block_scripts)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A phone-sized page with JavaScript."""
    return new_page()


@pytest.fixture
def page_nojs(new_page: Callable[..., Any]) -> Any:
    """A phone-sized page with JavaScript switched off."""
    return new_page(java_script_enabled=False)


@pytest.fixture
def page_noscripts(new_page: Callable[..., Any]) -> Any:
    """A phone-sized page that renders as without JavaScript (the site's scripts are not
    loaded) but where test code can still run: for axe on the no-JavaScript pages, because
    with JavaScript switched off the browser runs no timers and axe never finishes."""
    return new_page(block_scripts=True)


@pytest.fixture(scope="session")
def axe() -> Callable[..., list[dict[str, Any]]]:
    """``axe(page, tags=AXE_TAGS)``: the page's axe-core violations (not on ``page_nojs``)."""
    if not AXE_JS.exists():
        _missing(f"{AXE_JS} is missing (run 'npm ci')")

    source = AXE_JS.read_text(encoding="utf-8")

    def run(page: Any, tags: list[str] | None = None) -> list[dict[str, Any]]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # The pages' CSP refuses inline scripts, so add_script_tag(path=...) is blocked (as it
            # should be); the DevTools protocol's evaluate is not subject to the page's CSP and
            # also runs where the page's own JavaScript is switched off.
            page.evaluate(f"() => {{ {source}\n; window.axe = axe; }}")
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            tags or AXE_TAGS,
        )
        return list(result["violations"])

    return run


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(
                f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')[:300]}"
            )
    return "\n".join(lines)


@pytest.fixture(scope="session")
def assert_fits_screen() -> Callable[[Any, str], None]:
    """``assert_fits_screen(page, what)``: nothing is wider than the screen (no sideways scroll).

    Measured against the screen's width, not ``window.innerWidth``: a phone browser widens its
    layout viewport to fit a page that is too wide (showing it zoomed out), so innerWidth grows
    with the page and a check against it never fails."""

    def check(page: Any, what: str) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        overflow = width - page.viewport_size["width"]
        assert overflow <= 0, f"{what} is {overflow}px wider than the screen"

    return check


@pytest.fixture(scope="session")
def assert_accessible(axe: Callable[..., list[dict[str, Any]]]) -> Callable[[Any, str], None]:
    """``assert_accessible(page, what)``: no WCAG 2.2 AA violations, or a readable failure."""

    def check(page: Any, what: str) -> None:
        violations = axe(page)
        assert not violations, f"axe found problems on {what}:\n{describe_violations(violations)}"

    return check


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    """``screenshot(page, name)``: save a full-page PNG to test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def staff_login() -> Callable[[Any, str], None]:
    """``staff_login(page, role)``: sign in as the test user with that role."""

    def login(page: Any, role: str) -> None:
        page.goto("/login")
        page.fill("#username", role)
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/staff**")

    return login
