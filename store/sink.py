"""``finpulse sink``: writes ``news.classified`` (and ``news.dlq``) into the database.

Offsets are committed only after the database transaction that holds their effects has
committed, and every write is an upsert keyed by article id: a crash at any point loses nothing
and duplicates nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from finpulse.errors import ContractError
from finpulse.kafka import (
    CommitWatch,
    DeadLetterer,
    commit_processed,
    make_consumer,
    make_producer,
    next_offsets,
)
from finpulse.schemas import ClassifiedArticle, DeadLetter, decode, utcnow
from finpulse.settings import Settings
from store.db import retry_while_unavailable, session_factory
from store.writes import write_classified, write_dead_letter

log = logging.getLogger(__name__)


class Sink:
    """One sink worker: a member of the ``finpulse-sink`` consumer group. Its consumer (of
    ``news.classified`` and ``news.dlq``), producer (of dead letters) and sessions are injected
    by ``run_sink``, which owns and closes them."""

    def __init__(self, settings: Settings, consumer: KafkaConsumer, producer: KafkaProducer,
                 sessions: sessionmaker[Session]) -> None:
        topics = settings.kafka.topics
        self._topics = topics
        self._sessions = sessions
        self._consumer = consumer
        self._producer = producer
        self._dlq = DeadLetterer(self._producer, topics.dlq, stage="sink")
        self._commits = CommitWatch.for_settings(settings.kafka)
        self.stored = 0

    def run(self, stop: threading.Event) -> None:
        log.info("sink consuming %s and %s", self._topics.classified, self._topics.dlq)
        while not stop.is_set():
            batch = self._consumer.poll(timeout_ms=500, max_records=500)
            records = [r for recs in batch.values() for r in recs]
            if records:
                self._process_with_retry(records, stop)

    def _process_with_retry(self, records: Sequence[ConsumerRecord], stop: threading.Event) -> None:
        retry_while_unavailable(lambda: self.process(records), stop)

    def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Write one polled batch, then commit its offsets."""
        articles: list[ClassifiedArticle] = []
        letters: list[tuple[ConsumerRecord, DeadLetter | None, str | None]] = []
        for rec in records:
            if rec.topic == self._topics.dlq:
                letters.append(_decode_letter(rec))
                continue
            try:
                articles.append(decode(ClassifiedArticle, rec.value))
            except ContractError as exc:
                self._dlq.record(rec, exc)
        try:
            self._write(articles, letters)
        except DBAPIError as exc:
            if isinstance(exc, OperationalError):
                raise
            self._write_one_by_one(records, articles, letters, exc)
        self._producer.flush()  # dead letters acknowledged before their offsets commit
        self._commits.record(commit_processed(self._consumer, next_offsets(records)))

    def _write(self, articles, letters) -> None:
        with self._sessions.begin() as session:
            self.stored += write_classified(session, articles, utcnow())
            for rec, letter, problem in letters:
                write_dead_letter(session, letter, partition=rec.partition, offset=rec.offset,
                                  undecodable=problem)

    def _write_one_by_one(self, records, articles, letters, first_error) -> None:
        """A batch the database refused for a non-transient reason: isolate the bad rows."""
        log.warning("batch refused by the database (%s); writing one by one", first_error)
        by_id = {r.key.decode() if r.key else None: r for r in records}
        for art in articles:
            try:
                self._write([art], [])
            except DBAPIError as exc:
                if isinstance(exc, OperationalError):
                    raise
                rec = by_id.get(art.article.id) or records[0]
                self._dlq.record(rec, f"database refused article {art.article.id}: {exc.orig}")
        for rec, letter, problem in letters:
            try:
                self._write([], [(rec, letter, problem)])
            except DBAPIError as exc:
                if isinstance(exc, OperationalError):
                    raise
                # Never dead-letter a dead letter: keep its position and why it was refused.
                self._write([], [(rec, None, f"database refused the dead letter: {exc.orig}")])


def _decode_letter(rec: ConsumerRecord) -> tuple[ConsumerRecord, DeadLetter | None, str | None]:
    try:
        return rec, decode(DeadLetter, rec.value), None
    except ContractError as exc:  # never dead-letter a dead letter: record it as it is
        return rec, None, str(exc)


def run_sink(settings: Settings, stop: threading.Event) -> None:
    """Write ``news.classified`` and ``news.dlq`` to the database until ``stop`` is set."""
    sessions = session_factory(settings.database)
    topics = settings.kafka.topics
    consumer = make_consumer(settings.kafka, group_id=settings.group("sink"),
                             topics=[topics.classified, topics.dlq])
    producer = make_producer(settings.kafka, client_id="sink")
    try:
        Sink(settings, consumer, producer, sessions).run(stop)
    finally:
        close_clients(consumer, producer)


def close_clients(consumer: KafkaConsumer, producer: KafkaProducer) -> None:
    """Flush the producer's dead letters and close it, then leave the group without
    committing (every offset worth committing was committed after its batch)."""
    producer.flush(10)
    producer.close(10)
    consumer.close(autocommit=False)
