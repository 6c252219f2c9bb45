"""Kafka helpers shared by every part: producer and consumer factories, dead-lettering, and
committing exactly the offsets whose effects are durable.

Parts never construct kafka-python clients themselves; they call these factories with the
``KafkaSettings`` handed down from their entry point.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

from finpulse.errors import PermanentError, RetryableError
from finpulse.schemas import MAX_LETTER_KEY_BYTES, DeadLetter, Message
from finpulse.settings import KafkaSettings

log = logging.getLogger(__name__)
REBALANCE_ERRORS = (CommitFailedError, RebalanceInProgressError, IllegalGenerationError,
                    UnknownMemberIdError)


def make_producer(kafka: KafkaSettings, *, client_id: str, linger_ms: int = 5) -> KafkaProducer:
    """An idempotent, acks=all producer: a retried send never duplicates a record. A batch
    per partition closes at ``kafka.producer_batch_bytes`` or after ``linger_ms``; ``flush()``
    sends at once whatever is waiting."""
    return KafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id}-{client_id}",
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        retries=10,
        max_in_flight_requests_per_connection=5,
        compression_type=None,
        batch_size=kafka.producer_batch_bytes,
        # Room for the largest record a part sends (``check_size``) plus its batch framing.
        max_request_size=kafka.max_message_bytes + 64 * 1024,
    )


def make_consumer(
    kafka: KafkaSettings,
    *,
    group_id: str,
    topics: Iterable[str],
    max_poll_records: int = 500,
    auto_offset_reset: str = "earliest",
) -> KafkaConsumer:
    """A consumer in ``group_id`` that never auto-commits: callers commit after their effect
    is durable (``commit_processed``)."""
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id}-{group_id}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=auto_offset_reset,
        max_poll_records=max_poll_records,
        # A batch of model inference can take a while on a slow CPU.
        max_poll_interval_ms=600_000,
        # How long a killed member holds its partitions before the group moves them: the
        # recovery time after a crash (docs/faults.md).
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, kafka.session_timeout_s / 3) * 1000),
        # A topic created after start-up is seen within this long, not the default 5 minutes.
        metadata_max_age_ms=30_000,
    )
    topics = list(topics)
    _await_metadata(consumer, topics)
    consumer.subscribe(topics)
    return consumer


@contextmanager
def stream_clients(kafka: KafkaSettings, *, group_id: str, topics: list[str], client_id: str,
                   max_poll_records: int = 500, consumer: KafkaConsumer | None = None,
                   producer: KafkaProducer | None = None) -> Iterator[tuple[KafkaConsumer, KafkaProducer]]:
    """The consumer and producer of a consume-transform-produce loop. Either may be given (tests
    inject their own); those made here are closed on exit. An unreachable broker is a
    ``RetryableError`` (the supervisor restarts the part)."""
    own_consumer, own_producer = consumer is None, producer is None
    try:
        consumer = consumer or make_consumer(kafka, group_id=group_id, topics=topics,
                                             max_poll_records=max_poll_records)
        producer = producer or make_producer(kafka, client_id=client_id)
    except KafkaError as exc:
        if own_consumer and consumer is not None:
            consumer.close()
        raise RetryableError(f"kafka at {kafka.bootstrap_servers} unavailable: {exc}") from exc
    try:
        yield consumer, producer
    finally:
        if own_consumer:
            consumer.close()
        if own_producer:
            producer.close()


def _await_metadata(consumer: KafkaConsumer, topics: list[str], timeout_s: float = 30) -> None:
    """Fetch the topics' partition metadata before joining the group: a member that joins
    without it is assigned nothing until the next metadata refresh."""
    deadline = time.monotonic() + timeout_s
    missing = list(topics)
    while missing:
        missing = [t for t in missing if not consumer.partitions_for_topic(t)]
        if not missing:
            return
        if time.monotonic() > deadline:
            log.warning("topics %s have no partitions yet; consuming anyway", missing)
            return
        time.sleep(0.2)


def next_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, int]:
    """For each partition, the offset after the last of ``records`` (what to commit)."""
    out: dict[TopicPartition, int] = {}
    for rec in records:
        tp = TopicPartition(rec.topic, rec.partition)
        out[tp] = max(out.get(tp, -1), rec.offset + 1)
    return out


def commit_processed(consumer: KafkaConsumer, offsets: Mapping[TopicPartition, int]) -> bool:
    """Commit ``offsets`` synchronously; call only once their effects are durable.

    A commit refused because the group is rebalancing is not an error for us: the partitions'
    new owner re-reads those records and, every write being idempotent, re-applying them
    changes nothing. Returns whether the commit went through."""
    if not offsets:
        return True
    try:
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()})
        return True
    except REBALANCE_ERRORS as exc:
        log.warning("offset commit lost to a group rebalance (%s); the records will be "
                    "re-read and re-applied idempotently", type(exc).__name__)
        return False


class MessageTooLarge(PermanentError):
    """A record over ``kafka.max_message_bytes``: no retry will make it fit."""


def check_size(kafka: KafkaSettings, topic: str, key: bytes | None, value: bytes) -> None:
    """Raise ``MessageTooLarge`` for a record the broker would refuse. Checked before sending,
    because kafka-python raises its own size error from ``send`` and would end the stage."""
    size = len(value) + len(key or b"")
    if size > kafka.max_message_bytes:
        raise MessageTooLarge(f"a record of {size:,} bytes for {topic} is over the "
                              f"{kafka.max_message_bytes:,}-byte limit (kafka.max_message_bytes)")


@dataclass
class CommitWatch:
    """Ends a member whose commits keep being refused as lost to a rebalance.

    kafka-python can leave a member half-joined for good (a poll that times out between its
    JoinGroup and its SyncGroup): it goes on consuming its old assignment while every commit
    is refused, and another member processes the same records. One refusal is a rebalance;
    refusals for longer than ``limit_s`` (twice the session timeout) mean the member is lost,
    and ``RetryableError`` makes the part restart with a fresh consumer."""

    limit_s: float
    refused_since: float | None = None

    @classmethod
    def for_settings(cls, kafka: KafkaSettings) -> CommitWatch:
        return cls(limit_s=2 * kafka.session_timeout_s)

    def record(self, committed: bool, now: float | None = None) -> None:
        if committed:
            self.refused_since = None
            return
        now = time.monotonic() if now is None else now
        if self.refused_since is None:
            self.refused_since = now
        elif now - self.refused_since > self.limit_s:
            raise RetryableError(
                f"every offset commit refused for {now - self.refused_since:.0f}s: this member "
                "has lost its consumer group; restarting with a new consumer")


@dataclass
class DeadLetterer:
    """Sends whatever a stage cannot process to the dead-letter topic, with the reason.

    It never raises: a letter is bounded (``DeadLetter.wrap``) so it always fits, and one that
    still cannot be sent is logged and counted in ``lost``. A stage must never stop, or loop
    on a restart, because of one bad record; the original stays in its source topic."""

    producer: KafkaProducer
    topic: str
    stage: str
    sent: int = 0
    lost: int = 0

    def record(self, rec: ConsumerRecord, error: BaseException | str) -> None:
        letter = DeadLetter.wrap(
            rec.value,
            stage=self.stage,
            error=error,
            key=rec.key,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )
        log.warning(
            "dead-lettering %s[%d]@%d at %s: %s", rec.topic, rec.partition, rec.offset,
            self.stage, letter.error[:500],
        )
        self._send(letter, rec.key[:MAX_LETTER_KEY_BYTES] if rec.key is not None else None)

    def raw(self, letter: DeadLetter, key: bytes | None = None) -> None:
        log.warning("dead-lettering from %s (%s): %s", letter.stage, letter.url, letter.error[:500])
        self._send(letter, key)

    def _send(self, letter: DeadLetter, key: bytes | None) -> None:
        where = f"{letter.topic}[{letter.partition}]@{letter.offset}"
        try:
            future = self.producer.send(self.topic, key=key, value=letter.encode())
        except (KafkaError, ValueError, TypeError) as exc:
            self._lost(where, exc)
            return
        self.sent += 1
        future.add_errback(lambda exc: self._lost(where, exc))

    def _lost(self, where: str, exc: BaseException) -> None:
        self.lost += 1
        log.error("could not dead-letter %s at %s (%s: %s); going on without it (%d lost so far)",
                  where, self.stage, type(exc).__name__, exc, self.lost)


def send_message(producer: KafkaProducer, topic: str, key: str, message: Message, *,
                 kafka: KafkaSettings | None = None):
    """Send one validated message keyed by ``key``; returns kafka-python's future. With
    ``kafka``, a message over ``kafka.max_message_bytes`` raises ``MessageTooLarge`` unsent."""
    key_bytes, value = key.encode("utf-8"), message.encode()
    if kafka is not None:
        check_size(kafka, topic, key_bytes, value)
    return producer.send(topic, key=key_bytes, value=value)
