"""Micro-batches for the streaming worker: filled from the consumer up to a size, a token
budget or a wait deadline, whichever comes first. The poll buffer never holds more than one
poll's worth of records, so memory stays bounded whatever the input rate."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from kafka.consumer.fetcher import ConsumerRecord

from classifier.textcheck import estimate_tokens, unclassifiable_reason
from finpulse.errors import ContractError
from finpulse.schemas import Article, decode


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
    items: list[tuple[ConsumerRecord, Article, float]] = field(default_factory=list)
    dead: list[tuple[ConsumerRecord, str]] = field(default_factory=list)
    tokens: int = 0

    def add(self, rec: ConsumerRecord, max_length: int) -> None:
        self.records.append(rec)
        received = time.perf_counter()
        try:
            article = decode(Article, rec.value)
        except ContractError as exc:
            self.dead.append((rec, str(exc)))
            return
        reason = unclassifiable_reason(article.content)
        if reason:
            self.dead.append((rec, f"article {article.id}: {reason}"))
            return
        self.items.append((rec, article, received))
        self.tokens += estimate_tokens(article.content, max_length)


class BatchCollector:
    """Pulls records from a consumer into batches."""

    def __init__(self, consumer, limits: Limits) -> None:  # noqa: ANN001 - KafkaConsumer
        self.consumer = consumer
        self.limits = limits
        self.buffer: deque[ConsumerRecord] = deque()

    def _fill(self, timeout_s: float) -> None:
        polled = self.consumer.poll(timeout_ms=max(0, int(timeout_s * 1000)),
                                    max_records=self.limits.max_size)
        for records in polled.values():
            self.buffer.extend(records)

    def next_batch(self) -> Batch:
        """The next batch (possibly empty when nothing arrived before the deadline)."""
        batch = Batch()
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

    @property
    def depth(self) -> int:
        return len(self.buffer)
