"""Topic administration on the real broker: missing topics are created, existing ones kept."""

from __future__ import annotations

import pytest

from finpulse.settings import KafkaSettings, TopicNames
from finpulse.topics import ensure_topics, list_topics
from tests.conftest import unique

pytestmark = pytest.mark.integration


def test_ensure_topics_creates_the_missing_ones_and_is_harmless_twice(kafka_bootstrap: str) -> None:
    uid = unique()
    names = TopicNames(raw=f"raw.{uid}", classified=f"classified.{uid}", alerts=f"alerts.{uid}",
                       dlq=f"dlq.{uid}")
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, manage_local_broker=False, topics=names,
                          partitions=2)
    assert not set(names.all()) & set(list_topics(kafka))
    ensure_topics(kafka)
    ensure_topics(kafka)
    listed = list_topics(kafka)
    assert set(names.all()) <= set(listed)
    assert listed == sorted(listed) and not any(t.startswith("__") for t in listed)
