"""The dead-man's switch fires, and clears, for each of its four checks: the heartbeat, a
crash loop, a stalled consumer group and a silent source (real database, real broker)."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.dispatcher import Dispatcher
from alerts.pipeline import Recorder
from alerts.watchdog import CRASH_LOOP, HEARTBEAT, SILENT, STALLED, Watchdog, usual_gap
from finpulse.kafka import commit_processed, make_consumer, make_producer
from finpulse.lag import consumer_lag
from finpulse.settings import Settings, WatchdogSettings
from store import tables as m
from store.db import session_factory
from store.writes import write_classified
from system.supervisor import Supervisor
from system.up import restart_recorder
from tests.alerts.conftest import Receiver
from tests.store.factories import classified
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.integration]

FAST = dict(check_every_s=0.2, heartbeat_every_s=60, crash_loop_restarts=3, crash_loop_window_s=600,
            stalled_after_s=2, silence_min_s=60, silence_factor=4, silence_min_gaps=5)


class Clock:
    """Starts two minutes ago, so what it dates is due for the dispatcher (real time)."""

    def __init__(self) -> None:
        self.now = time.time() - 120

    def __call__(self) -> float:
        return self.now


def watchdog_for(settings: Settings, clock=time.time, read_lag=None) -> Watchdog:
    sessions = session_factory(settings.database)
    return Watchdog(settings.alerts.watchdog, sessions, Recorder(sessions, settings.alerts),
                    read_lag=read_lag, clock=clock)


def open_alerts(settings: Settings, rule: str) -> dict[str, m.Alert]:
    with session_factory(settings.database)() as s:
        return {a.key: a for a in s.scalars(select(m.Alert).where(m.Alert.rule == rule,
                                                                  m.Alert.state == "firing"))}


def deliveries(settings: Settings, rule: str) -> list[m.WebhookDelivery]:
    with session_factory(settings.database)() as s:
        query = (select(m.WebhookDelivery)
                 .join(m.Alert, m.Alert.id == m.WebhookDelivery.alert_id)
                 .where(m.Alert.rule == rule).order_by(m.WebhookDelivery.id))
        return list(s.scalars(query))


def test_the_heartbeat_always_fires_repeats_and_survives_a_restart(
        alert_settings, receiver: Receiver, db_url: str) -> None:
    settings = alert_settings(None, receiver, database_url=db_url, watchdog=WatchdogSettings(**FAST))
    clock = Clock()
    watchdog_for(settings, clock).evaluate()
    clock.now += 30
    watchdog_for(settings, clock).evaluate()  # a restarted alerts worker: no second 'firing'
    clock.now += 31
    again = watchdog_for(settings, clock)
    again.evaluate()  # the heartbeat is due again: a repeat, with a webhook id of its own
    [beat] = open_alerts(settings, HEARTBEAT).values()
    sent = deliveries(settings, HEARTBEAT)
    assert [d.event for d in sent] == ["firing", "firing"] and len({d.webhook_id for d in sent}) == 2
    assert {d.alert_id for d in sent} == {beat.id}
    assert "finpulse itself is down" in beat.labels["reason"]

    stop = threading.Event()
    dispatcher = Dispatcher(session_factory(settings.database), settings.alerts, poll_s=0.1)
    thread = threading.Thread(target=dispatcher.run, args=(stop,))
    thread.start()
    try:
        got = receiver.wait_for(2)
    finally:
        stop.set()
        thread.join(10)
    payloads = receiver.verified()  # signed like every other alert
    assert [p["data"]["rule"] for p in payloads] == [HEARTBEAT, HEARTBEAT] and len(got) == 2


def test_a_crash_loop_fires_with_the_part_and_its_exit_code(alert_settings, db_url: str) -> None:
    settings = alert_settings(None, None, database_url=db_url, watchdog=WatchdogSettings(**FAST))
    sup = Supervisor(max_backoff_s=0.1, on_restart=restart_recorder(settings))
    sup.add("flaky", [sys.executable, "-c", "import sys; sys.exit(3)"])
    sup.add("steady", [sys.executable, "-c", "import time; time.sleep(60)"])
    stop = threading.Event()
    watching = threading.Thread(target=sup.watch, args=(stop,), kwargs={"poll_s": 0.1})
    watching.start()
    try:
        wait_until(lambda: sup.children[0].restarts > FAST["crash_loop_restarts"], timeout_s=30,
                   what="the flaky part restarted past the limit")
    finally:
        stop.set()
        watching.join(10)
        sup.stop_all(timeout_s=5)
    watchdog = watchdog_for(settings)
    watchdog.evaluate()
    loops = open_alerts(settings, CRASH_LOOP)
    assert set(loops) == {"flaky"}
    assert "flaky was restarted" in loops["flaky"].labels["reason"]
    assert "last exit code 3" in loops["flaky"].labels["reason"]
    assert loops["flaky"].severity == "critical"


def test_a_stalled_consumer_group_fires_and_clears(kafka_settings, alert_settings, db_url: str) -> None:
    settings = alert_settings(kafka_settings, None, database_url=db_url, watchdog=WatchdogSettings(**FAST))
    topic, group = kafka_settings.topics.raw, settings.group("classifier")

    def publish(n: int) -> None:
        producer = make_producer(kafka_settings, client_id="test")
        for i in range(n):
            producer.send(topic, key=str(i).encode(), value=b"{}")
        producer.flush()
        producer.close()

    consumer = make_consumer(kafka_settings, group_id=group, topics=[topic])
    try:
        def consume_and_commit(n: int) -> None:
            seen: list = []
            deadline = time.monotonic() + 30
            while len(seen) < n and time.monotonic() < deadline:
                seen += [r for rs in consumer.poll(timeout_ms=500).values() for r in rs]
            assert len(seen) == n
            offsets: dict = {}
            for r in seen:
                offsets[r.partition] = max(offsets.get(r.partition, 0), r.offset + 1)
            from kafka import TopicPartition

            assert commit_processed(consumer, {TopicPartition(topic, p): o for p, o in offsets.items()})

        publish(5)
        consume_and_commit(5)
        watchdog = watchdog_for(settings, read_lag=lambda: consumer_lag(kafka_settings))
        watchdog.evaluate()
        publish(7)  # arrives, and the group commits nothing
        time.sleep(FAST["stalled_after_s"] + 0.5)
        watchdog.evaluate()
        stalled = open_alerts(settings, STALLED)
        assert set(stalled) == {group}
        assert "lag grew from 0 to 7" in stalled[group].labels["reason"]
        consume_and_commit(7)
        watchdog.evaluate()
        assert open_alerts(settings, STALLED) == {}
    finally:
        consumer.close()


def test_a_source_silent_for_longer_than_usual_fires(alert_settings, db_url: str) -> None:
    settings = alert_settings(None, None, database_url=db_url, watchdog=WatchdogSettings(**FAST))
    now = datetime.now(UTC)
    sessions = session_factory(settings.database)
    # "quiet" delivered every minute, then stopped an hour ago; "busy" delivers every minute.
    with sessions.begin() as s:
        for k in range(10):
            write_classified(s, [classified(k, source="quiet", published=now)],
                             now - timedelta(minutes=70 - k))
            write_classified(s, [classified(100 + k, source="busy", published=now)],
                             now - timedelta(minutes=9 - k))
    watchdog_for(settings).evaluate()
    silent = open_alerts(settings, SILENT)
    assert set(silent) == {"quiet"}
    reason = silent["quiet"].labels["reason"]
    assert "no new article from quiet for 1h" in reason and "usual gap is 1m" in reason


def test_the_usual_gap_counts_one_delivery_once() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    burst = [t0 + timedelta(minutes=5 * k, milliseconds=j) for k in range(8) for j in range(10)]
    assert usual_gap(burst, 5) == 300.0
    assert usual_gap(burst[:30], 5) is None  # three deliveries, two gaps: no usual gap yet
