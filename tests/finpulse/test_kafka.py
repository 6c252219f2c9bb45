"""The shared Kafka helpers on the real broker."""

from __future__ import annotations

import pytest

from finpulse.kafka import make_producer
from finpulse.settings import KafkaSettings
from tests.support import read_topic

pytestmark = [pytest.mark.integration]


def records_per_request(kafka: KafkaSettings, n: int, size: int) -> float:
    """Send ``n`` records of ``size`` bytes in one burst, flush, and return the producer's
    own measure of how many records each produce request carried. The linger is long, so only
    a full batch or the flush sends: the count does not depend on this machine's speed."""
    producer = make_producer(kafka, client_id="batching", linger_ms=60_000)
    try:
        for i in range(n):
            producer.send(kafka.topics.raw, key=b"one-partition", value=bytes([i % 256]) * size)
        producer.flush()
        return producer.metrics()["producer-metrics"]["records-per-request-avg"]
    finally:
        producer.close()


def test_a_flushed_burst_goes_out_in_few_requests(kafka_settings: KafkaSettings) -> None:
    # 300 records of 1 KB for one partition: kafka-python's default 16 KiB batch would send
    # them about 15 to a request (and wake its sender thread on nearly every send).
    per_request = records_per_request(kafka_settings, 300, 1000)
    assert per_request >= 100, per_request
    assert len(read_topic(kafka_settings, kafka_settings.topics.raw, expect=300)) == 300


def test_the_batch_size_is_a_setting(kafka_settings: KafkaSettings) -> None:
    small = kafka_settings.model_copy(update={"producer_batch_bytes": 16 * 1024})
    assert records_per_request(small, 300, 1000) < 30
