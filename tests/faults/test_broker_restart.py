"""The broker killed with SIGKILL mid-stream and started again, while classify, sink, alerts and
shadow run under the supervisor (as ``finpulse up`` runs them): every article is stored once,
and the stream flows again. A private broker, so the rest of the suite keeps its own."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from finpulse.kafka import make_producer
from finpulse.schemas import Article, article_id_for_source, utcnow
from finpulse.settings import KafkaSettings, LocalBrokerSettings, TopicNames
from store import tables as m
from store.db import session_factory
from system import broker
from system.supervisor import Supervisor
from tests.alerts.conftest import free_port
from tests.conftest import unique, write_settings_file
from tests.support import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.slow]


def private_broker(tmp_path: Path) -> KafkaSettings:
    uid, port = unique(), free_port()
    return KafkaSettings(
        bootstrap_servers=f"localhost:{port}", manage_local_broker=True, partitions=2,
        group_prefix=f"finpulse-{uid}", session_timeout_s=6.0,
        topics=TopicNames(raw=f"raw.{uid}", classified=f"classified.{uid}", alerts=f"alerts.{uid}",
                          dlq=f"dlq.{uid}"),
        local=LocalBrokerSettings(port=port, controller_port=free_port(), data_dir=tmp_path / "kafka"),
    )


def publish(kafka: KafkaSettings, ids: range) -> None:
    producer = make_producer(kafka, client_id="test")
    for i in ids:
        a = Article(id=article_id_for_source("wire", str(i)), source="wire",
                    title=f"Company {i} shares rise after results", published=utcnow(), fetched=utcnow())
        producer.send(kafka.topics.raw, key=a.id.encode(), value=a.encode())
    producer.flush()
    producer.close()


def _now():
    from finpulse.schemas import utcnow

    return utcnow()


@pytest.mark.postgres
def test_broker_sigkill_and_restart_loses_and_duplicates_nothing(
        make_settings, migrated, install_model, postgres_url, tmp_path: Path) -> None:
    # One database: what is at stake here is Kafka's redelivery after the restart; the
    # database's idempotence under redelivery is what the kill tests check on both.
    kafka = private_broker(tmp_path)
    broker.start(kafka, progress=lambda _msg: None)
    settings = migrated(make_settings(kafka=kafka, database_url=postgres_url))
    install_model(settings, "tiny-a")
    install_model(settings, "tiny-b", promote=False)
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_CONFIG"] = str(config)
    sup = Supervisor(max_backoff_s=2.0)
    stop = threading.Event()
    n = 300
    sessions = session_factory(settings.database)

    def predictions() -> int:
        with sessions() as s:
            return s.scalar(select(func.count()).select_from(m.Prediction))

    try:
        for part in ("classify", "sink", "alerts", "shadow"):
            sup.add(part, [sys.executable, "-m", "system", part], env=env)
        watching = threading.Thread(target=sup.watch, args=(stop,), kwargs={"poll_s": 0.5})
        watching.start()
        publish(kafka, range(n // 2))
        wait_until(lambda: predictions() >= 20, timeout_s=180, what="the stream flowing")
        os.kill(broker.managed_pid(kafka.local), signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(5)
        broker.start(kafka, progress=lambda _msg: None)
        publish(kafka, range(n // 2, n))
        at_restart = predictions()
        wait_until(lambda: predictions() > at_restart, timeout_s=240, what="the stream flowing again")
        print(f"broker: stream flowing again {time.monotonic() - killed:.1f} s after the kill")
        wait_until(lambda: predictions() >= n, timeout_s=300, what=f"all {n} predictions")
        time.sleep(2)
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(m.Article)) == n
            assert s.scalar(select(func.count()).select_from(m.Prediction)) == n
            assert s.scalar(select(func.coalesce(func.sum(m.Rollup.n), 0)).where(
                m.Rollup.dim == "all", m.Rollup.grain == "hour")) == n
        print("restarts: " + ", ".join(f"{c.name} {c.restarts}" for c in sup.children))
    finally:
        stop.set()
        sup.stop_all(timeout_s=20)
        broker.stop(kafka)
