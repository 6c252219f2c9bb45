"""Consumer lag per group, read from a real broker; a down broker is an explained error."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from finpulse.kafka import commit_processed, make_consumer, make_producer
from finpulse.lag import BrokerDown, consumer_lag
from finpulse.settings import KafkaSettings
from tests.support import wait_until

pytestmark = pytest.mark.integration


def test_lag_of_a_group_that_committed_part_of_a_partition(kafka_settings: KafkaSettings) -> None:
    topic = kafka_settings.topics.raw
    producer = make_producer(kafka_settings, client_id="lag-test")
    for i in range(5):
        producer.send(topic, key=b"k", value=f"m{i}".encode(), partition=0)
    producer.flush()
    producer.close()
    group = f"{kafka_settings.group_prefix}-sink"
    consumer = make_consumer(kafka_settings, group_id=group, topics=[topic])
    try:
        wait_until(lambda: consumer.poll(timeout_ms=500) or consumer.assignment(),
                   what="a partition assignment")
        commit_processed(consumer, {TopicPartition(topic, 0): 2})
    finally:
        consumer.close()
    lags = consumer_lag(kafka_settings)
    mine = [x for x in lags if x.group == group and x.partition == 0 and x.topic == topic]
    assert [(x.committed, x.end, x.lag) for x in mine] == [(2, 5, 3)]
    assert all(x.group.startswith(f"{kafka_settings.group_prefix}-") for x in lags)


def test_broker_down_is_explained() -> None:
    with pytest.raises(BrokerDown, match="127.0.0.1:1 is not reachable"):
        consumer_lag(KafkaSettings(bootstrap_servers="127.0.0.1:1"), timeout_s=0.5)


def test_pipeline_page_shows_lag_when_the_broker_is_up(kafka_settings, make_settings, sqlite_url,
                                                       app_for) -> None:
    from store.migrate import upgrade

    group = f"{kafka_settings.group_prefix}-classifier"
    producer = make_producer(kafka_settings, client_id="lag-page")
    for i in range(3):
        producer.send(kafka_settings.topics.raw, value=f"m{i}".encode(), partition=1)
    producer.flush()
    producer.close()
    consumer = make_consumer(kafka_settings, group_id=group, topics=[kafka_settings.topics.raw])
    try:
        wait_until(lambda: consumer.poll(timeout_ms=500) or consumer.assignment(),
                   what="a partition assignment")
        commit_processed(consumer, {TopicPartition(kafka_settings.topics.raw, 1): 1})
    finally:
        consumer.close()
    settings = make_settings(database_url=sqlite_url, kafka=kafka_settings)
    upgrade(settings.database)
    at = app_for(settings, "pipeline")
    assert not at.exception
    totals = at.dataframe[0].value
    assert dict(zip(totals["group"], totals["lag"], strict=True)) == {group: 2}


def test_pipeline_page_shows_each_firing_watchdog_check_in_red_with_its_reason(
        empty_settings, app_for) -> None:
    from datetime import timedelta

    from alerts.pipeline import Recorder
    from alerts.watchdog import Watchdog
    from finpulse.schemas import utcnow
    from store.db import session_factory
    from store.queries.watchdog import record_restart

    sessions = session_factory(empty_settings.database)
    with sessions.begin() as s:
        for _ in range(5):
            record_restart(s, part="classify", host="h", exit_code=1, at=utcnow())
    cfg = empty_settings.alerts.watchdog
    Watchdog(cfg, sessions, Recorder(sessions, empty_settings.alerts)).evaluate()
    at = app_for(empty_settings, "pipeline")
    red = [e.value for e in at.error]
    assert any("Crash loops" in e and "classify was restarted 5 times" in e for e in red), red
    assert any("Heartbeat" in s.value for s in at.success)

    # The watchdog stopped: its heartbeat goes stale, and the page says so in red.
    import streamlit as st
    from sqlalchemy import update

    from store import tables as m

    stale = utcnow() - timedelta(seconds=3 * cfg.heartbeat_every_s)
    with sessions.begin() as s:
        s.execute(update(m.Alert).values(updated_at=stale))
    st.cache_data.clear()
    at = app_for(empty_settings, "pipeline")
    assert any("the watchdog is not running" in e.value for e in at.error), [e.value for e in at.error]
