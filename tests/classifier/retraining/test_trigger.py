"""One retraining at a time (file lock on SQLite, advisory lock on PostgreSQL), and the
automatic trigger after a configured number of new labels."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from classifier.retraining.gate import Decision
from classifier.retraining.lock import RetrainBusy, retrain_lock
from classifier.retraining.retrain import RetrainConfig, RetrainResult, retrain
from classifier.retraining.trigger import check_once, progress, start_autoretrain
from finpulse.errors import ConfigError
from store.db import session_factory
from store.queries import model_versions as q
from store.queries.labels import save_labels
from tests.classifier.retraining.conftest import add_articles
from tests.support import wait_until

pytestmark = pytest.mark.integration


def test_a_second_retrain_is_refused_while_one_holds_the_lock(db_url, rt_settings) -> None:
    settings = rt_settings(database_url=db_url)
    with retrain_lock(settings):
        with pytest.raises(RetrainBusy, match="another retraining is running"):
            with retrain_lock(settings):
                pass
        with pytest.raises(RetrainBusy):
            retrain(settings, RetrainConfig(), progress=False)  # refused before any work
    with retrain_lock(settings):  # released
        pass


class FakeRetrain:
    """Stands in for the (minutes-long) training: registers a version as a real run does."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, settings, cfg, progress: bool = True) -> RetrainResult:
        self.calls += 1
        with retrain_lock(settings), session_factory(settings.database).begin() as s:
            q.register_version(s, version=f"auto-{self.calls}", path="/nowhere", base_model="x", metrics={})
        return RetrainResult(f"auto-{self.calls}", False, Decision(False, [], 0.0, 0.0), {})


def label(settings, ids: list[str]) -> None:
    with session_factory(settings.database).begin() as s:
        for aid in ids:
            save_labels(s, aid, topic="Energy / Oil", sentiment=None, by="ann", at=datetime.now(UTC))


def test_the_trigger_runs_after_the_configured_number_of_new_labels(rt_settings) -> None:
    settings = rt_settings(retrain_after_labels=3)
    add_articles(settings, {f"a{i}": f"story {i}" for i in range(7)})
    fake, stop = FakeRetrain(), threading.Event()
    thread = start_autoretrain(settings, stop, retrain_fn=fake, poll_s=0.05)
    try:
        label(settings, ["a0", "a1"])
        assert progress(settings)["labels"] == 2
        label(settings, ["a2"])
        wait_until(lambda: fake.calls == 1, timeout_s=10, what="the first automatic retrain")
        assert progress(settings)["labels"] == 0  # the count restarts at the new version
        label(settings, ["a3", "a4"])
        threading.Event().wait(0.5)
        assert fake.calls == 1
        label(settings, ["a5"])
        wait_until(lambda: fake.calls == 2, timeout_s=10, what="the second automatic retrain")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and fake.calls == 2


def test_the_trigger_skips_while_another_retrain_runs(rt_settings) -> None:
    settings = rt_settings(retrain_after_labels=1)
    add_articles(settings, {"a0": "story"})
    label(settings, ["a0"])
    with retrain_lock(settings):
        assert check_once(settings, RetrainConfig(), retrain) is None
    fake = FakeRetrain()
    assert check_once(settings, RetrainConfig(), fake).version == "auto-1"


def test_watch_refuses_a_dry_run(rt_settings) -> None:
    from classifier.retraining.trigger import run_autoretrain

    with pytest.raises(ConfigError, match="--watch cannot be combined with --dry-run"):
        run_autoretrain(rt_settings(), threading.Event(), cfg=RetrainConfig(dry_run=True))
