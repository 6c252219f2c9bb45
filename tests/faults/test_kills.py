"""SIGKILL mid-stream of the parts not covered elsewhere (the classifier, the sink and the
alerts worker are killed in tests/e2e, tests/classifier and tests/alerts): ingest and the
shadow scorer. N unique articles in; exactly N rows out; the time to flow again is printed."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classifier import registry
from finpulse.kafka import make_producer
from finpulse.settings import IngestSettings, Settings
from store import tables as m
from store.db import session_factory
from tests.e2e.conftest import Parts
from tests.store.factories import classified
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def count(settings: Settings, model: type) -> int:
    with session_factory(settings.database)() as s:
        return s.scalar(select(func.count()).select_from(model))


def kill_and_restart(run: Parts, name: str, args: list[str], progress, total: int) -> float:
    """Kill ``name`` once ``progress()`` passes a tenth of ``total``, restart it; returns the
    seconds from the restart until ``progress()`` moves again."""
    wait_until(lambda: progress() >= total // 10, timeout_s=180, what=f"{name} under way")
    run.kill(name)
    at_kill = progress()
    assert at_kill < total, f"{name} finished before it was killed: raise the count"
    restarted = time.monotonic()
    run.start(name, *args)
    wait_until(lambda: (run.check_alive(), progress() > at_kill)[1], timeout_s=180,
               what=f"{name} flowing again")
    return time.monotonic() - restarted


@pytest.fixture
def kafka_settings(kafka_settings):
    """A killed member's partitions move after 6 s (the broker's minimum), not 30."""
    return kafka_settings.model_copy(update={"session_timeout_s": 6.0})


# One database each, to keep the suite's time: what these kills test is redelivery from Kafka,
# which is the same for both; the sink's redelivery into each database is killed and checked
# on both by tests/e2e/test_pipeline.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sigkill_of_ingest_mid_replay_loses_and_duplicates_nothing(
        kafka_settings, model_settings, install_model, db_url, tmp_path: Path) -> None:
    n = 150
    stream = tmp_path / "wire.csv"
    with stream.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text"])
        w.writeheader()
        w.writerows({"id": f"w{i}", "text": f"Company {i} shares rise after results"} for i in range(n))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: wire, type: replay, path: {stream}, rate_per_s: 30}}\n")
    settings = model_settings(kafka=kafka_settings, database_url=db_url,
                              ingest=IngestSettings(sources_file=sources, state_dir=tmp_path / "state"))
    install_model(settings)
    run = Parts(settings, tmp_path)
    try:
        run.start("classify", "classify")
        run.start("sink", "sink")
        run.start("ingest", "ingest")
        took = kill_and_restart(run, "ingest", ["ingest"], lambda: count(settings, m.Article), n)
        wait_until(lambda: (run.check_alive(), count(settings, m.Prediction) >= n)[1], timeout_s=240,
                   what=f"all {n} predictions")
        time.sleep(2)  # anything re-published after the restart has landed by now
        assert count(settings, m.Article) == n and count(settings, m.Prediction) == n
        with session_factory(settings.database)() as s:
            assert s.scalar(select(func.coalesce(func.sum(m.Rollup.n), 0)).where(
                m.Rollup.dim == "all", m.Rollup.grain == "hour")) == n
        print(f"ingest: flowing again {took:.1f} s after its restart")
    finally:
        run.stop_all()


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_sigkill_of_the_shadow_scorer_mid_stream_loses_nothing(
        kafka_settings, model_settings, install_model, db_url, tmp_path: Path) -> None:
    n = 300
    settings = model_settings(kafka=kafka_settings, database_url=db_url,
                              model={"precision": "fp32", "shadow_poll_s": 0.5})
    install_model(settings, "tiny-a")
    install_model(settings, "tiny-b", promote=False)
    registry.start_shadow(settings, "tiny-b")
    producer = make_producer(kafka_settings, client_id="test")
    for i in range(n):
        msg = classified(i, model_version="tiny-a")
        producer.send(kafka_settings.topics.classified, key=msg.article.id.encode(), value=msg.encode())
    producer.flush()
    producer.close()
    run = Parts(settings, tmp_path)
    try:
        run.start("shadow", "shadow")
        took = kill_and_restart(run, "shadow", ["shadow"], lambda: count(settings, m.ShadowPrediction), n)
        wait_until(lambda: (run.check_alive(), count(settings, m.ShadowPrediction) >= n)[1],
                   timeout_s=240, what=f"all {n} shadow rows")
        with session_factory(settings.database)() as s:
            ids = set(s.scalars(select(m.ShadowPrediction.article_id)))
        assert ids == {classified(i).article.id for i in range(n)}
        print(f"shadow: flowing again {took:.1f} s after its restart")
    finally:
        run.stop_all()
