"""The streaming worker on the real broker: N in, N out, offsets committed; poison messages to
the DLQ; SIGKILL and restart lose nothing; hot swap mid-stream with an exact count."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import pytest

from classifier import registry
from classifier.serving.paths import this_machine
from classifier.serving.worker import run_worker
from finpulse.kafka import make_producer
from finpulse.schemas import Article, ClassifiedArticle, DeadLetter, article_id_for_source, decode
from tests.conftest import write_settings_file
from tests.support import InThread, committed, read_topic, spawn_part, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADLINES = ["Apple beats estimates, shares jump", "Fed holds rates steady", "$XOM slides as oil falls",
             "Goldman upgrades Tesla to buy", "Dividend raised by 5%", "IPO prices above range"]


def article(i: int, text: str | None = None) -> Article:
    now = datetime.now(UTC)
    return Article(id=article_id_for_source("test", str(i)), source="test",
                   title=text if text is not None else f"{HEADLINES[i % len(HEADLINES)]} #{i}",
                   published=now, fetched=now, tickers=["AAPL"] if i % 2 else [])


def publish(settings, values: list[tuple[bytes | None, bytes]]) -> None:
    producer = make_producer(settings.kafka, client_id="test")
    for key, value in values:
        producer.send(settings.kafka.topics.raw, key=key, value=value)
    producer.flush()
    producer.close()


def publish_articles(settings, articles: list[Article]) -> None:
    publish(settings, [(a.id.encode(), a.encode()) for a in articles])


def classified(settings, expect: int, timeout_s: float = 90) -> list[ClassifiedArticle]:
    return [decode(ClassifiedArticle, r.value)
            for r in read_topic(settings.kafka, settings.kafka.topics.classified, expect=expect,
                                timeout_s=timeout_s)]


def test_n_in_n_out_with_poison_dead_lettered_and_offsets_committed(
        kafka_settings, model_settings, install_model) -> None:
    settings = model_settings(kafka=kafka_settings)
    version = install_model(settings)
    good = [article(i) for i in range(40)]
    empty = article(900, text="")
    poison = [(b"k1", b"\x00\x01\xffnot json"), (b"k2", b'{"schema": 99}'),
              (empty.id.encode(), empty.encode()),
              (b"k3", article(901, "\x00\x01\x02\x03\x04" * 50).encode())]
    publish_articles(settings, good[:20])
    publish(settings, poison)
    publish_articles(settings, good[20:])
    with InThread(run_worker, settings):
        out = classified(settings, expect=40)
        wait_until(lambda: committed(settings, "classifier", settings.kafka.topics.raw) == 44,
                   timeout_s=30, what="offsets committed")
    assert sorted(c.article.id for c in out) == sorted(a.id for a in good)
    by_id = {c.article.id: c for c in out}
    for a in good:
        c = by_id[a.id]
        assert c.prediction.model_version == version
        assert c.tickers == sorted(a.tickers)  # ingest found them; the classifier passes them on
    dlq = read_topic(settings.kafka, settings.kafka.topics.dlq, expect=4)
    dead = [decode(DeadLetter, r.value) for r in dlq]
    assert len(dead) == 4 and {d.stage for d in dead} == {"classifier"}
    reasons = " | ".join(d.error for d in dead)
    assert "not valid UTF-8 JSON" in reasons and "unknown schema version 99" in reasons
    assert "empty text" in reasons and "binary content" in reasons
    assert {d.original for d in dead} >= {b"\x00\x01\xffnot json", b'{"schema": 99}'}


def test_sigkill_mid_stream_and_restart_loses_nothing(kafka_settings, model_settings, install_model,
                                                      tmp_path) -> None:
    settings = model_settings(kafka=kafka_settings)
    install_model(settings)
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    n = 600
    publish_articles(settings, [article(i) for i in range(n)])
    child = spawn_part(["classify"], config, tmp_path / "worker1.log")
    try:
        wait_until(lambda: len(read_topic(settings.kafka, settings.kafka.topics.classified, expect=50,
                                          timeout_s=2)) >= 50, timeout_s=120, what="first outputs")
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    first = {c.article.id for c in classified(settings, expect=n, timeout_s=3)}
    assert len(first) < n, "the worker finished before it was killed: raise n"

    def all_classified() -> bool:
        return len({c.article.id for c in classified(settings, expect=n, timeout_s=3)}) >= n

    child = spawn_part(["classify"], config, tmp_path / "worker2.log")
    try:
        out = wait_until(all_classified, timeout_s=180, what="all articles after the restart")
        assert out
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(30)
    ids = {c.article.id for c in classified(settings, expect=n, timeout_s=5)}
    assert ids == {article(i).id for i in range(n)}


def test_hot_swap_mid_stream_exact_count(kafka_settings, model_settings, install_model) -> None:
    settings = model_settings(kafka=kafka_settings)
    old = install_model(settings, "tiny-old")
    new = install_model(settings, "tiny-new", promote=False)
    first = [article(i) for i in range(30)]
    second = [article(i) for i in range(30, 60)]
    with InThread(run_worker, settings, swap_every_s=0.5) as running:
        publish_articles(settings, first)
        classified(settings, expect=30)
        registry.promote(settings, new)
        time.sleep(3)  # the watcher notices within 0.5 s and loads in the background
        publish_articles(settings, second)
        out = classified(settings, expect=60)
    stats = running.result["value"]
    assert stats.swaps == 1
    versions: dict[str, set[str]] = {}
    for c in out:
        versions.setdefault(c.article.id, set()).add(c.prediction.model_version)
    assert set(versions) == {a.id for a in first + second}  # no message lost
    assert {v for a in first for v in versions[a.id]} == {old}
    assert {v for a in second for v in versions[a.id]} == {new}
    # None classified twice: exact, unless a consumer-group rebalance refused a commit (then
    # at-least-once re-reads are allowed and the worker counts the refusals).
    if stats.commit_failures == 0:
        assert len(out) == 60


SERVED_PATHS = ["torch:fp32", "onnxruntime:fp32"]
if this_machine("cpu").flags & {"avx512_bf16", "amx_bf16"}:
    SERVED_PATHS.append("torch:bf16")  # a path tuning may choose only where the CPU has bf16


@pytest.mark.parametrize("path", SERVED_PATHS)
def test_the_workers_labels_are_the_engines_whatever_path_it_serves(
        kafka_settings, model_settings, install_model, path: str) -> None:
    runtime, precision = path.split(":")
    settings = model_settings(kafka=kafka_settings, model={"runtime": runtime, "precision": precision})
    version = install_model(settings)
    good = [article(i) for i in range(60)]
    engine = registry.load_engine(settings, registry.resolve(settings, version))
    assert (engine.runtime, engine.precision) == (runtime, precision)
    expected = {a.id: (p.topic, p.sentiment) for a, p in zip(good, engine.predict([a.content for a in good]),
                                                             strict=True)}
    publish_articles(settings, good)
    with InThread(run_worker, settings):
        out = classified(settings, expect=len(good))
    assert {c.article.id: (c.prediction.topic, c.prediction.sentiment) for c in out} == expected
