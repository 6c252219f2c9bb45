"""Fixtures for ingest tests: reading back what reached a Kafka topic."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer

from finpulse.settings import KafkaSettings


def read_topic(kafka: KafkaSettings, topic: str, *, expect: int | None = None,
               timeout_s: float = 15.0, settle_s: float = 1.0) -> list:
    """Every record on ``topic`` from the beginning: stops when ``expect`` records arrived (then
    waits ``settle_s`` more to catch extras) or after ``timeout_s``."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=500,
    )
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        settled_at = None
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            if expect is not None and len(records) >= expect:
                settled_at = settled_at or time.monotonic() + settle_s
                if time.monotonic() >= settled_at:
                    break
    finally:
        consumer.close()
    return records


@pytest.fixture
def topic_reader() -> Callable[..., list]:
    return read_topic
