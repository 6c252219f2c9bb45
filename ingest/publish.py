"""Where articles go: Kafka (``news.raw`` and ``news.dlq``) or a JSON-lines file.

Both sinks share one small interface so the replay and the crawler do not care which they
feed. ``flush`` returns only once everything sent so far is durable (acknowledged by Kafka,
or written and fsynced), and raises ``PublishError`` otherwise.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO, Protocol

from kafka.errors import KafkaError

from finpulse.errors import RetryableError
from finpulse.kafka import MessageTooLarge, check_size, make_producer
from finpulse.schemas import Article, DeadLetter
from finpulse.settings import KafkaSettings
from finpulse.topics import ensure_topics

log = logging.getLogger(__name__)


class PublishError(RetryableError):
    """Kafka (or the output file) did not accept what was sent."""


class ArticleSink(Protocol):
    failures: int

    def article(self, article: Article) -> None: ...
    def dead_letter(self, letter: DeadLetter) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class KafkaSink:
    """Publishes to ``news.raw`` keyed by article id and dead letters to ``news.dlq``, through
    the kernel's idempotent producer."""

    def __init__(self, kafka: KafkaSettings, *, client_id: str = "ingest",
                 create_topics: bool = True) -> None:
        if create_topics:  # a send to a missing topic would block for a minute, then fail
            ensure_topics(kafka)
        self.kafka, self.topics = kafka, kafka.topics
        self.producer = make_producer(kafka, client_id=client_id)
        self._pending: list = []
        # Flushes that failed so far: a batch that saw this change since it began cannot know
        # whether its own records were among the lost ones, so it must not count as durable.
        self.failures = 0

    def _send(self, topic: str, key: bytes | None, value: bytes) -> None:
        try:
            self._pending.append(self.producer.send(topic, key=key, value=value))
        except KafkaError as exc:
            raise PublishError(f"could not send to {topic}: {exc}") from exc

    def article(self, article: Article) -> None:
        key, value = article.id.encode("utf-8"), article.encode()
        try:
            check_size(self.kafka, self.topics.raw, key, value)
        except MessageTooLarge as exc:  # would stop the crawl at every retry: dead-letter it
            self.dead_letter(DeadLetter.wrap(value, stage="ingest.publish", error=exc, key=key,
                                             source=article.source, url=article.url))
            return
        self._send(self.topics.raw, key, value)

    def dead_letter(self, letter: DeadLetter) -> None:
        log.warning("dead-lettering from %s (%s): %s", letter.stage, letter.url, letter.error)
        key = letter.url.encode("utf-8")[:1024] if letter.url else None
        self._send(self.topics.dlq, key, letter.encode())

    def flush(self, timeout_s: float = 60.0) -> None:
        pending, self._pending = self._pending, []
        try:
            self.producer.flush(timeout=timeout_s)
            for future in pending:
                future.get(timeout=timeout_s)
        except KafkaError as exc:
            self.failures += 1
            raise PublishError(f"Kafka did not acknowledge a record: {exc}") from exc

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.producer.close(timeout=10)


class JsonlSink:
    """Writes each article as one JSON line (the same bytes a ``news.raw`` message carries);
    dead letters go to ``<output>.dlq.jsonl`` beside it, created only when needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dlq_path = path.with_name(path.name + ".dlq.jsonl") if path.suffix != ".jsonl" else (
            path.with_suffix(".dlq.jsonl")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[bytes] = path.open("ab")
        self._dlq: IO[bytes] | None = None
        self.articles = 0
        self.dead_letters = 0
        self.failures = 0

    def article(self, article: Article) -> None:
        self._out.write(article.encode() + b"\n")
        self.articles += 1

    def dead_letter(self, letter: DeadLetter) -> None:
        log.warning("dead letter from %s (%s): %s", letter.stage, letter.url, letter.error)
        if self._dlq is None:
            self._dlq = self.dlq_path.open("ab")
        self._dlq.write(letter.encode() + b"\n")
        self.dead_letters += 1

    def flush(self) -> None:
        try:
            for f in (self._out, self._dlq):
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            self.failures += 1
            raise PublishError(f"{self.path}: could not write: {exc}") from exc

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._out.close()
            if self._dlq is not None:
                self._dlq.close()


class MemorySink:
    """Keeps what it is given (``finpulse sources check`` and tests)."""

    def __init__(self) -> None:
        self.articles: list[Article] = []
        self.dead_letters: list[DeadLetter] = []
        self.failures = 0

    def article(self, article: Article) -> None:
        self.articles.append(article)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
