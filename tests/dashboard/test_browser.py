"""``finpulse dashboard`` against a seeded database, looked at in headless Chromium.

Playwright's sync API drives Debian's Chromium (``executable_path``); no browser is downloaded
(``playwright install`` is never run). A test skips only when that Chromium is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from store.db import session_factory
from store.migrate import upgrade
from tests.conftest import write_settings_file
from tests.dashboard.conftest import NO_BROKER
from tests.dashboard.seed import seed_database
from tests.support import wait_until

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration,
              pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian's chromium package")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Without the background-networking flags Chromium keeps dialling out, and this machine's
# closed network refuses it; Playwright adds --headless and --no-sandbox itself.
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000  # how long any one thing may take to show up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard_url(make_settings, sqlite_url, tmp_path):
    settings = make_settings(database_url=sqlite_url, kafka=NO_BROKER)
    settings = settings.model_copy(update={"dashboard": settings.dashboard.model_copy(
        update={"host": "127.0.0.1", "port": free_port()})})
    upgrade(settings.database)
    with session_factory(settings.database).begin() as session:
        seed_database(session, datetime.now(UTC))
    config = write_settings_file(settings, tmp_path / "settings.yaml")
    env = os.environ | {"FINPULSE_CONFIG": str(config)}
    log = (tmp_path / "dashboard.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "system.cli", "dashboard"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{settings.dashboard.port}"
    try:
        wait_until(lambda: _healthy(url) or proc.poll() is not None, timeout_s=60,
                   what="the dashboard to answer")
        assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium under Playwright, shared by this module's tests."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class BrowserPage:
    """A fresh page (its own context: no cookies or storage shared) that records what the
    browser reports as an error: console errors, failed loads and uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "")
            self.console_errors.append(f"{msg.text} {where}".strip())

    def _on_pageerror(self, error: Error) -> None:
        self.console_errors.append(f"uncaught: {error.message}")


@pytest.fixture
def browser(chromium: Browser) -> Iterator[BrowserPage]:
    context = chromium.new_context(viewport={"width": 1400, "height": 2000})
    context.set_default_timeout(WAIT_MS)
    try:
        yield BrowserPage(context.new_page())
    finally:
        context.close()


CHARTS = '[data-testid="stVegaLiteChart"]'
GRIDS = '[data-testid="stDataFrame"]'
# Anything that says the page is still rendering: Streamlit's "running" widget, skeletons, and
# visible charts or data grids that have not drawn their canvas (or SVG) yet.
UNSETTLED = ", ".join([
    '[data-testid="stStatusWidget"]',
    '[data-testid^="stSkeleton"]',
    f"{CHARTS}:visible:not(:has(canvas, svg))",
    f"{GRIDS}:visible:not(:has(canvas))",
])
NEXT_FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def settle(page: Page, what: str) -> None:
    """Wait until nothing on the page is still rendering, then two more frames, so that the
    last canvases are painted before a screenshot."""
    expect(page.locator(UNSETTLED), f"{what} to finish rendering").to_have_count(0, timeout=WAIT_MS)
    page.evaluate(NEXT_FRAMES)


def wait_for_js(page: Page, predicate: str, what: str) -> None:
    """Wait (on animation frames, not sleeps) for a JavaScript predicate to hold."""
    try:
        page.wait_for_function(predicate, timeout=WAIT_MS)
    except PlaywrightTimeout:
        raise AssertionError(f"timed out after {WAIT_MS // 1000}s waiting for {what}") from None


def screenshot(page: Page, name: str) -> Path:
    path = ARTIFACTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path


def test_overview_in_a_real_browser(dashboard_url: str, browser: BrowserPage) -> None:
    page = browser.page
    page.goto(dashboard_url)
    rendered = page.locator(f"{CHARTS} canvas, {CHARTS} svg")
    expect(rendered.nth(2), "three rendered charts").to_be_attached(timeout=WAIT_MS)
    body = page.locator("body")
    expect(body, "the latest alert").to_contain_text("ticker-bearish", timeout=WAIT_MS)
    text = body.inner_text()
    assert "Overview" in text and "NVDA" in text
    assert "Kafka broker at `127.0.0.1:1`".replace("`", "") in text
    assert "Traceback" not in text and "Error" not in text.split("Firing alerts")[0]
    settle(page, "the overview")
    shot = screenshot(page, "dashboard-overview.png")
    assert shot.stat().st_size > 20_000
    assert browser.console_errors == []


PAGES = ["Drill-down", "Articles", "Alerts", "Labeling queue", "Models", "Pipeline health"]


def test_every_page_loads_without_errors(dashboard_url: str, browser: BrowserPage) -> None:
    page = browser.page
    page.goto(dashboard_url)
    expect(page.locator("body"), "the overview").to_contain_text("Latest alerts", timeout=WAIT_MS)
    links = page.locator('[data-testid="stSidebarNavLink"]')
    for title in PAGES:
        links.filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).click()
        heading = title.split()[0]
        expect(page.locator("h1").first, f"page {title}").to_contain_text(heading, timeout=WAIT_MS)
        # More than the heading: the page's own content has arrived, not just its title.
        wait_for_js(page, "document.body.innerText.length > 200", f"page {title}'s content")
        settle(page, f"page {title}")
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{title} shows an exception: {exceptions.all_inner_texts()}"
        screenshot(page, f"dashboard-{heading.lower()}.png")
    assert browser.console_errors == []
