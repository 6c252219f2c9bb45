"""Fixtures for dashboard tests: a migrated database seeded with a realistic stream, and an
``AppTest`` of ``dashboard/app.py`` pointed at it through ``FINPULSE_CONFIG``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from finpulse.settings import DashboardSettings, KafkaSettings, Settings
from store.db import session_factory
from store.migrate import upgrade
from tests.conftest import write_settings_file
from tests.dashboard.seed import Seeded, seed_database

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
# A port nothing listens on: the dashboard must explain "broker down", not fail.
NO_BROKER = KafkaSettings(bootstrap_servers="127.0.0.1:1", manage_local_broker=False)


@pytest.fixture
def seeded(make_settings: Callable[..., Settings], db_url: str) -> tuple[Settings, Seeded]:
    settings = make_settings(database_url=db_url, kafka=NO_BROKER)
    upgrade(settings.database)
    with session_factory(settings.database).begin() as session:
        seeded = seed_database(session, datetime.now(UTC))
    return settings, seeded


@pytest.fixture
def empty_settings(make_settings: Callable[..., Settings], sqlite_url: str) -> Settings:
    settings = make_settings(database_url=sqlite_url, kafka=NO_BROKER)
    upgrade(settings.database)
    return settings


@pytest.fixture
def app_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``app_for(settings, page=None)``: a run AppTest of the dashboard on ``page``."""

    def build(settings: Settings, page: str | None = None, *, user: dict | None = None,
              **dashboard: object) -> AppTest:
        if dashboard:
            settings = settings.model_copy(update={"dashboard": DashboardSettings(**dashboard)})
        config = write_settings_file(settings, tmp_path / "dashboard-settings.yaml")
        monkeypatch.setenv("FINPULSE_CONFIG", str(config))
        at = AppTest.from_file(str(APP), default_timeout=60)
        if user is not None:
            at.user = user
        at.run()
        if page is not None:
            at.switch_page(f"views/{page}.py").run()
        return at

    return build


def texts(at: AppTest) -> str:
    """Everything the page shows as text (markdown, captions, alerts, metrics), joined."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    parts += [f"{e.label} {e.value}" for e in at.metric]
    return "\n".join(parts)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
