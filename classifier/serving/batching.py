"""Micro-batches for the streaming workers: filled from the consumer up to a size, a token
budget or a wait deadline, whichever comes first. The poll buffer never holds more than one
poll's worth of records, so memory stays bounded whatever the input rate.

A ``Reader`` turns a record's value into (item, article id, text to classify): by default an
``Article`` from ``news.raw``; the shadow scorer reads ``ClassifiedArticle``s."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from classifier.serving.textcheck import estimate_tokens, unclassifiable_reason
from finpulse.errors import ContractError
from finpulse.schemas import Article, decode

Reader = Callable[[bytes | None], tuple[Any, str, str]]


def read_article(value: bytes | None) -> tuple[Article, str, str]:
    article = decode(Article, value)
    return article, article.id, article.content


@dataclass(frozen=True)
class Limits:
    max_size: int
    max_tokens: int
    max_wait_s: float
    max_length: int


@dataclass
class Batch:
    """Records in arrival order: those to classify and those to dead-letter (with why)."""

    records: list[ConsumerRecord] = field(default_factory=list)
    items: list[tuple[ConsumerRecord, Any, float]] = field(default_factory=list)
    dead: list[tuple[ConsumerRecord, str]] = field(default_factory=list)
    tokens: int = 0
    read: Reader = read_article

    def add(self, rec: ConsumerRecord, max_length: int) -> None:
        self.records.append(rec)
        received = time.perf_counter()
        try:
            item, article_id, text = self.read(rec.value)
        except ContractError as exc:
            self.dead.append((rec, str(exc)))
            return
        reason = unclassifiable_reason(text)
        if reason:
            self.dead.append((rec, f"article {article_id}: {reason}"))
            return
        self.items.append((rec, item, received))
        self.tokens += estimate_tokens(text, max_length)


class BatchCollector:
    """Pulls records from a consumer into batches."""

    def __init__(self, consumer, limits: Limits, read: Reader = read_article) -> None:
        self.consumer = consumer
        self.limits = limits
        self.read = read
        self.buffer: deque[ConsumerRecord] = deque()

    def _fill(self, timeout_s: float) -> None:
        polled = self.consumer.poll(timeout_ms=max(0, int(timeout_s * 1000)),
                                    max_records=self.limits.max_size)
        for records in polled.values():
            self.buffer.extend(records)

    def next_batch(self) -> Batch:
        """The next batch (possibly empty when nothing arrived before the deadline)."""
        batch = Batch(read=self.read)
        deadline = time.monotonic() + self.limits.max_wait_s
        while True:
            while self.buffer and len(batch.records) < self.limits.max_size \
                    and batch.tokens < self.limits.max_tokens:
                batch.add(self.buffer.popleft(), self.limits.max_length)
            if len(batch.records) >= self.limits.max_size or batch.tokens >= self.limits.max_tokens:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0 and (batch.records or not self.buffer):
                return batch
            self._fill(max(0.0, remaining))
            if not self.buffer and time.monotonic() >= deadline:
                return batch

    def drain(self, timeout_s: float) -> list[ConsumerRecord]:
        """The buffered records plus one poll's worth, undecoded (for a consumer that skips)."""
        self._fill(timeout_s)
        records = list(self.buffer)
        self.buffer.clear()
        return records

    @property
    def depth(self) -> int:
        return len(self.buffer)
