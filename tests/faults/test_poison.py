"""Poison records on every topic a stage reads: each stage keeps running, every good article
comes out exactly once, and every bad record becomes one bounded dead letter.

The first case is the crash loop that was found on ``make up``: a 900 KB record on
``news.raw`` that the classifier refuses. Its dead letter (original + reason) used to be over
the producer's size limit; the send raised, the classifier exited, the supervisor restarted it,
and it read the same record again, for ever."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from alerts.runner import run_alerts
from classifier import registry
from classifier.retraining.shadow import run_shadow
from classifier.serving.worker import run_worker
from finpulse.kafka import make_producer
from finpulse.schemas import (
    Article,
    ClassifiedArticle,
    DeadLetter,
    article_id_for_source,
    decode,
)
from finpulse.settings import AlertSettings, Settings
from store import tables as m
from store.db import session_factory
from store.sink import run_sink
from tests.store.factories import classified
from tests.support import InThread, committed, read_topic, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

LETTER_BOUND = 110_000  # bytes: DeadLetter.wrap keeps 64 KiB of the original and 4 KiB of error
NOW = datetime.now(UTC)


def article(i: int, title: str) -> Article:
    return Article(id=article_id_for_source("poison", str(i)), source="poison", title=title,
                   published=NOW, fetched=NOW)


def broken_json(size: int) -> bytes:
    return b'{"schema": 1, "title": "' + b"x" * size


def raw_poison() -> dict[str, bytes]:
    """Bad records for ``news.raw``, by what is wrong with them."""
    valid = json.loads(article(1, "ok").encode())
    missing = {k: v for k, v in valid.items() if k != "published"}
    return {
        "oversized (900 KB, not JSON)": broken_json(900_000),
        "invalid UTF-8": b'{"schema": 1, "title": "\xff\xfe\xfd"}',
        "not JSON": b"<html>not a message</html>",
        "unknown schema version": json.dumps({**valid, "schema": 7}).encode(),
        "missing fields": json.dumps(missing).encode(),
        "1 MB title": article(2, "t" * 1_000_000).encode(),
        "control characters": article(3, "\x01\x02\x03\x04\x05\x06\x07\x08" * 200).encode(),
    }


def publish(settings: Settings, topic: str, values: list[tuple[bytes | None, bytes]]) -> None:
    producer = make_producer(settings.kafka, client_id="test")
    for key, value in values:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def letters(settings: Settings, expect: int) -> list[tuple[int, DeadLetter]]:
    records = read_topic(settings.kafka, settings.kafka.topics.dlq, expect=expect, timeout_s=30)
    return [(len(r.value), decode(DeadLetter, r.value)) for r in records]


def test_poison_on_news_raw_is_dead_lettered_and_the_classifier_goes_on(
        kafka_settings, model_settings, install_model) -> None:
    settings = model_settings(kafka=kafka_settings)
    install_model(settings)
    topic = settings.kafka.topics.raw
    good = [article(100 + i, f"Shares of company {i} rise after earnings") for i in range(30)]
    emoji = article(99, "📈🚀💰📉")  # odd, but a text: classified like any other
    poison = raw_poison()
    publish(settings, topic, [(a.id.encode(), a.encode()) for a in good[:15]]
            + [(b"poison", v) for v in poison.values()]
            + [(a.id.encode(), a.encode()) for a in [emoji, *good[15:]]])
    total = len(good) + 1 + len(poison)
    with InThread(run_worker, settings) as worker:
        wait_until(lambda: committed(settings, "classifier", topic) == total, timeout_s=120,
                   what="every record committed")
    assert worker.result["value"].dead_lettered == len(poison)

    out = read_topic(settings.kafka, settings.kafka.topics.classified, expect=len(good) + 1)
    ids = [decode(ClassifiedArticle, r.value).article.id for r in out]
    assert sorted(ids) == sorted(a.id for a in [*good, emoji])  # each once, none lost

    dead = letters(settings, expect=len(poison))
    assert len(dead) == len(poison) and all(size < LETTER_BOUND for size, _ in dead)
    by_hash = {d.original_sha256: d for _, d in dead}
    for what, value in poison.items():
        d = by_hash[hashlib.sha256(value).hexdigest()]
        assert d.stage == "classifier" and d.original_size == len(value), what
        assert d.original == value[:64 * 1024] and d.truncated == (len(value) > 64 * 1024), what
    big = by_hash[hashlib.sha256(poison["1 MB title"]).hexdigest()]
    assert "over the 1,000,000-byte limit" in big.error


def classified_poison() -> dict[str, bytes]:
    valid = json.loads(classified(1).encode())
    missing = {**valid, "prediction": {k: v for k, v in valid["prediction"].items() if k != "sentiment"}}
    return {
        "oversized (900 KB, not JSON)": broken_json(900_000),
        "invalid UTF-8": b'{"schema": 1, "article": "\xff\xfe"}',
        "not JSON": b"\x00\x01 not json",
        "unknown schema version": json.dumps({**valid, "schema": 7}).encode(),
        "missing fields": json.dumps(missing).encode(),
    }


def odd_but_valid() -> list[ClassifiedArticle]:
    """Messages that honour the contract however strange: stored, counted, never refused."""
    out = []
    # A 900 KB title: with its prediction the record stays under the 1 MB message limit.
    for i, title in enumerate(["t" * 900_000, "\x01\x02 control \x07 characters", "📈🚀💰📉"]):
        msg = classified(500 + i, model_version="tiny-a", tickers=["JPM"])
        out.append(msg.model_copy(update={"article": msg.article.model_copy(update={"title": title})}))
    return out


RULES = """
rules:
  - name: poison-volume
    scope: ticker
    metric: count
    window: 1h
    min_count: 1000
    detector: {type: threshold, above: 1000}
"""


def test_poison_on_news_classified_and_news_dlq_stops_no_stage(
        kafka_settings, model_settings, install_model, db_url, tmp_path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = model_settings(kafka=kafka_settings, database_url=db_url,
                              model={"precision": "fp32", "shadow_poll_s": 0.2},
                              alerts=AlertSettings(rules_file=rules, evaluate_every_s=0.5,
                                                   session_timeout_s=6))
    install_model(settings, "tiny-a")
    install_model(settings, "tiny-b", promote=False)
    registry.start_shadow(settings, "tiny-b")
    topics = settings.kafka.topics
    good = [classified(i, model_version="tiny-a", tickers=["JPM"]) for i in range(40)] + odd_but_valid()
    poison = classified_poison()
    # A dead letter from another writer: no bounds, fields longer than the table's columns.
    foreign = json.dumps({"schema": 1, "stage": "s" * 5000, "error": "e" * 300_000, "error_type": "X" * 900,
                          "original_b64": "", "source": "o" * 5000, "at": NOW.isoformat()}).encode()
    dlq_poison = [broken_json(900_000), b"\xff\xfe not a letter", foreign]
    publish(settings, topics.classified, [(m_.article.id.encode(), m_.encode()) for m_ in good[:20]]
            + [(b"poison", v) for v in poison.values()]
            + [(m_.article.id.encode(), m_.encode()) for m_ in good[20:]])
    publish(settings, topics.dlq, [(b"dlq-poison", v) for v in dlq_poison])
    total = len(good) + len(poison)
    # Every stage that reads news.classified dead-letters each bad record once.
    expected_letters = 3 * len(poison) + len(dlq_poison)

    with (InThread(run_sink, settings), InThread(run_shadow, settings, poll_s=0.2),
          InThread(run_alerts, settings)):
        for group in ("sink", "shadow", "alerts"):
            wait_until(lambda g=group: committed(settings, g, topics.classified) == total,
                       timeout_s=180, what=f"{group} committed every record")
        wait_until(lambda: committed(settings, "sink", topics.dlq) == expected_letters, timeout_s=60,
                   what="the sink stored every dead letter")

    sessions = session_factory(settings.database)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Article)) == len(good)
        assert s.scalar(select(func.count()).select_from(m.Prediction)) == len(good)
        assert set(s.scalars(select(m.Article.id))) == {g.article.id for g in good}
        shadowed = set(s.scalars(select(m.ShadowPrediction.article_id)))
        rows = list(s.scalars(select(m.DeadLetterRow)))
    assert shadowed == {g.article.id for g in good}
    assert len(rows) == expected_letters
    stages = sorted(r.stage for r in rows if r.topic == topics.classified)
    assert stages == sorted(["alerts", "shadow", "sink"] * len(poison))
    assert all(len(r.source or "") <= 200 and len(r.stage) <= 64 for r in rows)
    ours = [r for r in read_topic(settings.kafka, topics.dlq, expect=expected_letters)
            if r.key != b"dlq-poison"]
    assert len(ours) == 3 * len(poison) and all(len(r.value) < LETTER_BOUND for r in ours)
