"""The sink on a real broker: exact rows, dead letters for bad messages, nothing lost."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from finpulse.kafka import make_consumer, make_producer
from finpulse.schemas import DeadLetter, decode
from store import tables as m
from store.db import session_factory
from store.sink import Sink, close_clients
from tests.store.factories import classified
from tests.support import read_topic, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_sink_writes_each_article_once_and_dead_letters_the_rest(
    kafka_settings, db_url, make_settings, migrated
) -> None:
    settings = migrated(make_settings(kafka=kafka_settings, database_url=db_url))
    topics = kafka_settings.topics
    producer = make_producer(kafka_settings, client_id="test")
    messages = [classified(i) for i in range(120)]
    for msg in messages + messages[:20]:  # at-least-once upstream: some duplicates
        producer.send(topics.classified, key=msg.article.id.encode(), value=msg.encode())
    producer.send(topics.classified, key=b"bad", value=b'{"schema": 1, "article": 3}')
    producer.send(topics.classified, key=b"future", value=b'{"schema": 7}')
    producer.flush()

    sessions = session_factory(settings.database)
    stop = threading.Event()
    consumer = make_consumer(kafka_settings, group_id=settings.group("sink"),
                             topics=[topics.classified, topics.dlq])
    sink_producer = make_producer(kafka_settings, client_id="sink")
    sink = Sink(settings, consumer, sink_producer, sessions)
    worker = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_until(lambda: count(sessions, m.Article) >= 120, what="120 articles", timeout_s=90)
        wait_until(lambda: count(sessions, m.DeadLetterRow) >= 2, what="2 dead letters",
                   timeout_s=60)
    finally:
        stop.set()
        worker.join(30)
        close_clients(consumer, sink_producer)
    assert count(sessions, m.Article) == 120
    assert count(sessions, m.Prediction) == 120
    with sessions() as s:
        assert s.scalar(select(func.sum(m.Rollup.n)).where(
            m.Rollup.dim == "all", m.Rollup.grain == "hour")) == 120
        errors = sorted(r.error for r in s.scalars(select(m.DeadLetterRow)))
    assert any("unknown schema version 7" in e for e in errors)
    assert any("article" in e for e in errors)
    letters = [decode(DeadLetter, r.value) for r in read_topic(kafka_settings, topics.dlq, expect=2)]
    assert {letter.original for letter in letters} == {b'{"schema": 1, "article": 3}', b'{"schema": 7}'}
    assert all(letter.stage == "sink" and letter.topic == topics.classified for letter in letters)
