"""``finpulse dashboard`` against a seeded database, looked at in headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store.db import session_factory
from store.migrate import upgrade
from tests.conftest import write_settings_file
from tests.dashboard.cdp import CHROMIUM, Browser
from tests.dashboard.conftest import NO_BROKER
from tests.dashboard.seed import seed_database
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


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
    proc = subprocess.Popen([sys.executable, "-m", "finpulse.cli", "dashboard"], env=env,
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


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian's chromium package")
def test_overview_in_a_real_browser(dashboard_url: str) -> None:
    browser = Browser()
    try:
        browser.goto(dashboard_url)
        browser.wait_for(
            "document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
            "[data-testid=\"stVegaLiteChart\"] svg').length >= 3",
            what="three rendered charts")
        text = browser.wait_for(
            "document.body.innerText.includes('ticker-bearish') && document.body.innerText",
            what="the latest alert")
        assert "Overview" in text and "NVDA" in text
        assert "Kafka broker at `127.0.0.1:1`".replace("`", "") in text
        assert "Traceback" not in text and "Error" not in text.split("Firing alerts")[0]
        browser.wait_for(SETTLED, what="the overview to finish rendering")
        time.sleep(0.5)
        shot = browser.screenshot(ARTIFACTS / "dashboard-overview.png")
        assert shot.stat().st_size > 20_000
        assert browser.console_errors == []
    finally:
        browser.close()


PAGES = ["Drill-down", "Articles", "Alerts", "Labeling queue", "Models", "Pipeline health"]
SETTLED = """(() => {
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
  return document.querySelector('[data-testid="stStatusWidget"]') === null
    && document.querySelectorAll('[data-testid^="stSkeleton"]').length === 0
    && charts.every(c => !c.checkVisibility() || c.querySelector('canvas, svg'))
    && grids.every(g => !g.checkVisibility() || g.querySelector('canvas'));
})()"""
CLICK_NAV = """(() => {{
  const link = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')]
    .find(a => a.innerText.trim() === {title!r});
  if (link) link.click();
  return !!link;
}})()"""


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian's chromium package")
def test_every_page_loads_without_errors(dashboard_url: str) -> None:
    browser = Browser()
    try:
        browser.goto(dashboard_url)
        browser.wait_for("document.body.innerText.includes('Latest alerts')", what="overview")
        for page in PAGES:
            browser.wait_for(CLICK_NAV.format(title=page), what=f"the {page} link")
            heading = page.split()[0]
            browser.wait_for(f"document.querySelector('h1')?.innerText.includes({heading!r}) && "
                             "document.querySelector('[data-testid=\"stStatusWidget\"]') === null "
                             "&& document.body.innerText.length > 200", what=f"page {page}")
            browser.wait_for(SETTLED, what=f"page {page} to finish rendering")
            time.sleep(0.5)  # let the last canvases paint before the screenshot
            exceptions = browser.evaluate(
                "document.querySelectorAll('[data-testid=\"stException\"]').length")
            assert exceptions == 0, f"{page} shows an exception"
            browser.screenshot(ARTIFACTS / f"dashboard-{page.split()[0].lower()}.png")
        assert browser.console_errors == []
    finally:
        browser.close()
