"""``finpulse api`` serves ``create_app(settings, serving=True)``: once started, the objects
alive are frozen out of the garbage collector's reach; an app built for a test is not."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from api.app import create_app
from finpulse.settings import DatabaseSettings, Settings
from tests.api.conftest import TestClient

pytestmark = pytest.mark.unit


def test_serving_freezes_what_lives_once_started(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path,
                        database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'fp.db'}"))
    before = gc.get_freeze_count()
    try:
        with TestClient(create_app(settings)):
            assert gc.get_freeze_count() == before
        with TestClient(create_app(settings, serving=True)):
            assert gc.get_freeze_count() > before + 10_000
    finally:
        gc.unfreeze()
