"""Shared fixtures: a real Kafka broker, real databases (SQLite, PostgreSQL), and settings that
isolate each test (its own topics, consumer groups, database and model registry).

- Kafka: ``FINPULSE_TEST_KAFKA`` names a broker to use; otherwise the local broker is started
  (``finpulse broker start``, the same one ``.ci/run`` starts) if it is not already up.
- PostgreSQL: ``FINPULSE_TEST_POSTGRES_URL`` (a server URL, e.g.
  ``postgresql+psycopg://postgres@localhost:5432/postgres``). Each test gets a fresh database.
  Tests marked ``postgres`` fail (not skip) when it is missing under CI, so CI cannot pass
  without them; on a developer machine they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from finpulse.settings import (
    DatabaseSettings,
    KafkaSettings,
    LocalBrokerSettings,
    ModelSettings,
    Settings,
    TopicNames,
)

# The suite must not pick up a developer's finpulse.yaml or FINPULSE_* variables.
for _var in [v for v in os.environ
             if v.startswith("FINPULSE_") and not v.startswith(("FINPULSE_TEST_", "FINPULSE_FUZZ_"))]:
    del os.environ[_var]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """A reachable broker's bootstrap servers (starting the local one if needed)."""
    from system import broker

    given = os.environ.get("FINPULSE_TEST_KAFKA")
    if given:
        if not broker.is_reachable(given, timeout_s=10):
            pytest.fail(f"FINPULSE_TEST_KAFKA={given} is not reachable")
        return given
    kafka = KafkaSettings()
    if not broker.is_reachable(kafka.bootstrap_servers, timeout_s=2):
        broker.start(kafka)
    return kafka.bootstrap_servers


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Kafka settings with this test's own topics (created) and consumer-group prefix."""
    from system import broker

    uid = unique()
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        manage_local_broker=False,
        topics=TopicNames(
            raw=f"news.raw.{uid}", classified=f"news.classified.{uid}",
            alerts=f"news.alerts.{uid}", dlq=f"news.dlq.{uid}",
        ),
        partitions=2,
        group_prefix=f"finpulse-{uid}",
        local=LocalBrokerSettings(),
    )
    broker.ensure_topics(kafka)
    return kafka


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'finpulse.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    server = os.environ.get("FINPULSE_TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("FINPULSE_TEST_POSTGRES_URL is not set: CI must test PostgreSQL")
        pytest.skip("FINPULSE_TEST_POSTGRES_URL not set (PostgreSQL tests need a server)")
    name = unique("finpulse_test_")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        from store.db import _engine_for

        _engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build isolated Settings: ``make_settings(kafka=..., database_url=..., **sections)``."""

    def build(
        *, kafka: KafkaSettings | None = None, database_url: str | None = None, **sections: Any
    ) -> Settings:
        base: dict[str, Any] = {
            "var_dir": tmp_path / "var",
            "database": DatabaseSettings(url=database_url or f"sqlite:///{tmp_path / 'fp.db'}"),
            "model": ModelSettings(registry_dir=tmp_path / "models"),
        }
        if kafka is not None:
            base["kafka"] = kafka
        base.update(sections)
        return Settings(**base)

    return build


def write_settings_file(settings: Settings, path: Path) -> Path:
    """Write settings for a child process (pass ``FINPULSE_CONFIG=path`` in its environment)."""
    path.write_text(yaml.safe_dump(settings.revealed(), sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def migrated() -> Callable[[Settings], Settings]:
    """Apply migrations to a Settings' database and return the same Settings."""

    def apply(settings: Settings) -> Settings:
        from store.migrate import upgrade

        upgrade(settings.database)
        return settings

    return apply


# A tiny model, shared by the classifier's tests and the fault matrix.
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
    from classifier.training.train import TrainConfig, train
    from store.migrate import upgrade

    root = tmp_path_factory.mktemp("tiny")
    # Not tuned: copies serve the rule for this machine, the same path in every run.
    model = ModelSettings(registry_dir=root / "models", max_length=32, tune_new_versions=False)
    settings = Settings(var_dir=root, database={"url": f"sqlite:///{root / 'fp.db'}"}, model=model)
    upgrade(settings.database)
    version = train(settings, TrainConfig(**TINY), progress=False)
    from classifier.serving.onnx_runtime import ensure_onnx

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
def model_settings(make_settings: Callable[..., Settings], migrated) -> Callable[..., Settings]:
    """Migrated, isolated settings with short inference limits; ``model={...}`` overrides
    fields of the model section."""

    def build(model: dict | None = None, **kwargs) -> Settings:
        settings = make_settings(**kwargs)
        section = ModelSettings(**{"registry_dir": settings.model.registry_dir, "max_length": 32,
                                   "max_batch_size": 16, "max_wait_ms": 20, **(model or {})})
        return migrated(settings.model_copy(update={"model": section}))

    return build
