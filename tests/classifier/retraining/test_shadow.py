"""The shadow scorer on the real broker and database (SQLite and PostgreSQL): idle without a
shadow version; N classified messages in, N rows with both models' predictions out; bad
messages to the DLQ; a replay writes nothing twice; a new shadow version is picked up while
running."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from classifier import registry
from classifier.retraining.shadow import run_shadow
from finpulse.kafka import make_producer
from finpulse.schemas import Article, ClassifiedArticle, DeadLetter, decode
from store import tables as m
from store.db import session_factory
from tests.store.factories import classified
from tests.support import InThread, committed, read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def publish(settings, values: list[bytes]) -> None:
    producer = make_producer(settings.kafka, client_id="test")
    for value in values:
        producer.send(settings.kafka.topics.classified, key=b"k", value=value)
    producer.flush()
    producer.close()


def rows(settings) -> dict[tuple[str, str], m.ShadowPrediction]:
    with session_factory(settings.database)() as s:
        return {(r.challenger_version, r.article_id): r for r in s.scalars(select(m.ShadowPrediction))}


def empty_article() -> bytes:
    now = datetime.now(UTC)
    msg = classified(900, model_version="tiny-a")
    blank = Article(id=msg.article.id, source="t", title="", text="", published=now, fetched=now)
    return ClassifiedArticle(article=blank, prediction=msg.prediction).encode()


def test_the_shadow_scores_the_stream_beside_the_champion(kafka_settings, model_settings, install_model,
                                                          db_url) -> None:
    settings = model_settings(kafka=kafka_settings, database_url=db_url,
                              model={"precision": "fp32", "shadow_poll_s": 0.2})
    install_model(settings, "tiny-a")
    for v in ("tiny-b", "tiny-c"):
        install_model(settings, v, promote=False)

    early = [classified(i, model_version="tiny-a") for i in range(5)]
    publish(settings, [x.encode() for x in early])
    with InThread(run_shadow, settings, poll_s=0.2) as idle:  # no version in shadow: skip, commit
        wait_until(lambda: committed(settings, "shadow", settings.kafka.topics.classified) == 5,
                   timeout_s=60, what="the idle scorer's commits")
    assert rows(settings) == {} and idle.result["value"].skipped == 5

    registry.start_shadow(settings, "tiny-b")
    good = [classified(i, model_version="tiny-a") for i in range(10, 40)]
    own = classified(999, model_version="tiny-b")  # classified by the challenger itself: skipped
    publish(settings, [x.encode() for x in good[:15]] + [b"\x00not json", b'{"schema": 99}', empty_article(),
                                                         own.encode()] + [x.encode() for x in good[15:]])
    total = 5 + len(good) + 4
    with InThread(run_shadow, settings, poll_s=0.2) as scorer:
        wait_until(lambda: committed(settings, "shadow", settings.kafka.topics.classified) == total,
                   timeout_s=120, what="every message committed")
    stored = rows(settings)
    assert set(stored) == {("tiny-b", x.article.id) for x in good}
    engine = registry.load_engine(settings, registry.resolve(settings, "tiny-b"))
    predictions = engine.predict([x.article.content for x in good])
    expected = dict(zip([x.article.id for x in good], predictions, strict=False))
    for x in good:
        r, champ, chall = stored[("tiny-b", x.article.id)], x.prediction, expected[x.article.id]
        assert (r.champion_version, r.champion_topic, r.champion_sentiment) == (
            "tiny-a", champ.topic, champ.sentiment)
        assert r.champion_topic_confidence == pytest.approx(champ.topic_confidence)
        assert (r.challenger_topic, r.challenger_sentiment) == (chall.topic, chall.sentiment)
        assert r.challenger_topic_confidence == pytest.approx(chall.topic_confidence, abs=1e-4)
        assert r.title == x.article.title
    stats = scorer.result["value"]
    assert (stats.scored, stats.dead_lettered, stats.skipped) == (len(good), 3, 1)
    dlq = read_topic(settings.kafka, settings.kafka.topics.dlq, expect=3)
    dead = [decode(DeadLetter, r.value) for r in dlq]
    assert len(dead) == 3 and {d.stage for d in dead} == {"shadow"}
    reasons = " | ".join(d.error for d in dead)
    assert ("not valid UTF-8 JSON" in reasons and "unknown schema version 99" in reasons
            and "empty text" in reasons)

    replay = settings.model_copy(update={"kafka": settings.kafka.model_copy(
        update={"group_prefix": settings.kafka.group_prefix + "-replay"})})
    with InThread(run_shadow, replay, poll_s=0.2):  # a new group re-reads the whole topic
        wait_until(lambda: committed(replay, "shadow", replay.kafka.topics.classified) == total,
                   timeout_s=120, what="the replay")
    again = rows(settings)  # the early articles are scored now (the shadow is on); nothing twice
    assert set(again) == {("tiny-b", x.article.id) for x in early + good}
    assert all((again[k].challenger_topic, again[k].champion_topic) == (r.challenger_topic, r.champion_topic)
               for k, r in stored.items())


def test_a_new_shadow_version_is_picked_up_while_running(kafka_settings, model_settings,
                                                         install_model) -> None:
    settings = model_settings(kafka=kafka_settings, model={"shadow_poll_s": 0.2})
    install_model(settings, "tiny-a")
    for v in ("tiny-b", "tiny-c"):
        install_model(settings, v, promote=False)
    registry.start_shadow(settings, "tiny-b")
    sent: list[ClassifiedArticle] = []

    def probe(version: str) -> bool:
        x = classified(2000 + len(sent), model_version="tiny-a")
        sent.append(x)
        publish(settings, [x.encode()])
        wait_until(lambda: committed(settings, "shadow", settings.kafka.topics.classified) == len(sent),
                   timeout_s=60, what="the probe committed")
        return (version, x.article.id) in rows(settings)

    with InThread(run_shadow, settings, poll_s=0.2) as scorer:
        assert probe("tiny-b")  # loaded before consuming
        registry.start_shadow(settings, "tiny-c")
        wait_until(lambda: probe("tiny-c"), timeout_s=90, every_s=0.2, what="the switch to tiny-c")
        registry.stop_shadow(settings)
        wait_until(lambda: not probe("tiny-c"), timeout_s=90, every_s=0.2, what="the scorer idling")
        idle_from = len(sent)
        for _ in range(3):
            assert not probe("tiny-c")
    assert scorer.result["value"].switches == 3  # none -> tiny-b (start-up) -> tiny-c -> none
    assert not {k for k in rows(settings) if k[1] in {x.article.id for x in sent[idle_from:]}}
