"""End-to-end fixtures: a small model that has really learnt bearish vs bullish headlines
(trained once per session on our synthetic data), and a runner for finpulse's processes."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finpulse.settings import ModelSettings, Settings
from tests.conftest import write_settings_file
from tests.fixtures.synthetic import write_seed_dir
from tests.support import spawn_part


@pytest.fixture(scope="session")
def learnt_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a model version trained on synthetic headlines (~1 minute on 2 cores)."""
    from classifier.training.train import TrainConfig, train
    from store.migrate import upgrade

    root = tmp_path_factory.mktemp("e2e-model")
    seed = write_seed_dir(root / "seed", n=240)
    settings = Settings(var_dir=root, database={"url": f"sqlite:///{root / 'fp.db'}"},
                        model=ModelSettings(registry_dir=root / "models", max_length=32))
    upgrade(settings.database)
    version = train(settings, TrainConfig(data=str(seed), epochs=2, max_length=32, lr=1e-4,
                                          promote=True), progress=False)
    return root / "models" / version


@pytest.fixture
def install_learnt_model(learnt_model: Path) -> Callable[[Settings], str]:
    """Register the learnt model as champion in a test's own (migrated) database."""
    from classifier import registry

    def install(settings: Settings) -> str:
        version = learnt_model.name
        registry.register(settings, version, learnt_model, base_model="synthetic",
                          metrics={}, promote=True)
        return version

    return install


class Parts:
    """finpulse processes started for one test, all stopped (or killed) at its end."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.config = write_settings_file(settings, workdir / "finpulse.yaml")
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        proc = spawn_part(list(args), self.config, self.workdir / f"{name}.log")
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would: no clean shutdown, no final commit."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in list(self.procs.values()):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Callable[[Settings], Parts]]:
    started: list[Parts] = []

    def make(settings: Settings) -> Parts:
        p = Parts(settings, tmp_path)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop_all()
