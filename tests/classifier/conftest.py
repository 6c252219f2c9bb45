"""Classifier fixtures: one tiny model trained once per session (200 rows, 1 epoch, 32 tokens)
and a helper that registers it (or a renamed copy) in a test's own database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from finpulse.settings import ModelSettings, Settings

TINY = {"limit": 160, "epochs": 2, "max_length": 32, "batch_size": 16, "lr": 3e-4}


@dataclass(frozen=True)
class TinyRun:
    settings: Settings
    version: str
    folder: Path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    """A tiny model trained once for the whole session through ``train(settings, TrainConfig)``
    (160 rows, 2 epochs, 32 tokens), registered in its own database."""
    from classifier.train import TrainConfig, train
    from store.migrate import upgrade

    root = tmp_path_factory.mktemp("tiny")
    settings = Settings(var_dir=root, database={"url": f"sqlite:///{root / 'fp.db'}"},
                        model=ModelSettings(registry_dir=root / "models", max_length=32))
    upgrade(settings.database)
    version = train(settings, TrainConfig(**TINY), progress=False)
    from classifier.onnx_runtime import ensure_onnx

    ensure_onnx(root / "models" / version, "fp32")  # exported once; copies of the folder carry it
    return TinyRun(settings, version, root / "models" / version)


@pytest.fixture(scope="session")
def tiny_model(tiny_run: TinyRun) -> Path:
    """The folder of the tiny model version."""
    return tiny_run.folder


def copy_version(folder: Path, registry_dir: Path, version: str) -> Path:
    """A copy of a version folder under another version name (same weights)."""
    target = registry_dir / version
    shutil.copytree(folder, target)
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps({**manifest, "version": version}))
    return target


@pytest.fixture
def install_model(tiny_model: Path) -> Callable[..., str]:
    """``install_model(settings, version=..., promote=True)``: register a copy of the tiny model
    in ``settings``' (migrated) database and registry folder."""
    from classifier import registry

    def install(settings: Settings, version: str = "tiny-a", promote: bool = True) -> str:
        folder = copy_version(tiny_model, settings.model.registry_dir, version)
        registry.register(settings, version, folder, base_model="tiny", metrics={}, promote=promote)
        return version

    return install


@pytest.fixture
def model_settings(make_settings: Callable[..., Settings], migrated) -> Callable[..., Settings]:  # noqa: ANN001
    """Migrated, isolated settings with short inference limits; ``model={...}`` overrides
    fields of the model section."""

    def build(model: dict | None = None, **kwargs) -> Settings:  # noqa: ANN003
        settings = make_settings(**kwargs)
        section = ModelSettings(**{"registry_dir": settings.model.registry_dir, "max_length": 32,
                                   "max_batch_size": 16, "max_wait_ms": 20, **(model or {})})
        return migrated(settings.model_copy(update={"model": section}))

    return build
