"""Retraining fixtures: a synthetic seed folder, a champion trained on it once per session
(it never saw an energy story), settings that point at both, and articles in the database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from finpulse.settings import DashboardSettings, ModelSettings, Settings
from tests.classifier.retraining.synthetic import write_seed

CHAMPION_RECIPE = {"epochs": 3, "max_length": 32, "batch_size": 16, "lr": 3e-4, "dev_fraction": 0.25}


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed(tmp_path_factory.mktemp("seed"))


def model_section(registry_dir: Path, seed: Path, **kw) -> ModelSettings:
    return ModelSettings(registry_dir=registry_dir, seed_data=str(seed), max_length=32,
                         max_batch_size=16, max_wait_ms=20, threads=1, retrain_holdout_fraction=0.25,
                         **kw)


@pytest.fixture(scope="session")
def champion_folder(tmp_path_factory: pytest.TempPathFactory, seed_dir: Path) -> Path:
    """A model trained on the seed data only (trained once per session)."""
    from classifier.training.train import TrainConfig, train
    from store.migrate import upgrade

    root = tmp_path_factory.mktemp("champion")
    settings = Settings(var_dir=root, database={"url": f"sqlite:///{root / 'fp.db'}"},
                        model=model_section(root / "models", seed_dir))
    upgrade(settings.database)
    return root / "models" / train(settings, TrainConfig(**CHAMPION_RECIPE), progress=False)


@pytest.fixture
def rt_settings(make_settings: Callable[..., Settings], migrated, seed_dir: Path,
                tmp_path: Path) -> Callable[..., Settings]:
    """Migrated, isolated settings on the synthetic seed data."""

    def build(**kwargs) -> Settings:
        every = kwargs.pop("retrain_after_labels", 500)
        settings = make_settings(model=model_section(tmp_path / "models", seed_dir),
                                 dashboard=DashboardSettings(retrain_after_labels=every), **kwargs)
        return migrated(settings)

    return build


@pytest.fixture
def install_champion(champion_folder: Path) -> Callable[[Settings, str], str]:
    """Register a copy of the session's champion as ``version`` and promote it."""
    from classifier import registry

    def install(settings: Settings, version: str = "champ-1") -> str:
        target = settings.model.registry_dir / version
        shutil.copytree(champion_folder, target)
        manifest = json.loads((target / "manifest.json").read_text())
        (target / "manifest.json").write_text(json.dumps({**manifest, "version": version}))
        registry.register(settings, version, target, base_model="synthetic", metrics={}, promote=True)
        return version

    return install


def add_articles(settings: Settings, texts: dict[str, str]) -> None:
    """Store articles ``{id: title}`` as the sink would (no prediction needed for labels)."""
    from store import tables as m
    from store.db import session_factory

    now = datetime.now(UTC)
    with session_factory(settings.database).begin() as session:
        for aid, title in texts.items():
            session.add(m.Article(id=aid, source="test", url=None, title=title, text="",
                                  published=now, fetched=now, stored_at=now))


def run_cli(settings: Settings, *argv: str) -> int:
    """Run a ``retrain``/``labels`` command's handler as ``finpulse`` would, with ``settings``."""
    import argparse

    from classifier import cli

    parser = argparse.ArgumentParser()
    cli.add_commands(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.handler(args, settings)
