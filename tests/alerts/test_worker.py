"""The alerts worker end to end on a real broker: a synthetic classified stream with a known
burst, syndicated copies, a receiver that is down, and a worker killed mid-window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from alerts.commands import redeliver
from alerts.runner import run_alerts
from finpulse.kafka import make_consumer, make_producer, send_message
from finpulse.schemas import AlertEvent, ClassifiedArticle, DeadLetter, decode
from finpulse.settings import REPO_ROOT, Settings
from store import tables as m
from store.db import session_factory
from store.queries import alerts as q
from tests.alerts.conftest import BURST_RULES, Receiver, Server
from tests.alerts.factory import classified
from tests.conftest import write_settings_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@contextmanager
def worker(settings: Settings) -> Iterator[None]:
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_alerts, args=(settings, stop), kwargs={"ready": ready})
    thread.start()
    try:
        assert ready.wait(60), "alerts worker did not become ready"
        yield
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive()


def publish(settings: Settings, messages: list[ClassifiedArticle], raw: list[bytes] = ()) -> None:
    producer = make_producer(settings.kafka, client_id="test")
    for msg in messages:
        send_message(producer, settings.kafka.topics.classified, msg.article.id, msg)
    for value in raw:
        producer.send(settings.kafka.topics.classified, value=value)
    producer.flush()
    producer.close()


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def alerts_of(settings: Settings, rule: str | None = None) -> list[tuple[m.Alert, list[str]]]:
    with session_factory(settings.database)() as s:
        rows = [a for a in q.alerts(s) if rule is None or a.rule == rule]
        return [(a, [h.state for h in q.history(s, a.id)]) for a in rows]


def burst(ticker: str = "JPM", n: int = 6) -> list[ClassifiedArticle]:
    return [classified(sentiment="bearish", tickers=(ticker,), title=f"{ticker} plunges on probe {i}")
            for i in range(n)]


def noise(n: int = 6) -> list[ClassifiedArticle]:
    return [classified(sentiment=s, tickers=("BAC",)) for s in ["neutral", "bullish"] * (n // 2)]


def read_alert_events(settings: Settings, expect: int) -> list[AlertEvent]:
    consumer = make_consumer(settings.kafka, group_id=settings.group("test-reader"),
                             topics=[settings.kafka.topics.alerts])
    out: list[AlertEvent] = []
    deadline = time.monotonic() + 20
    while len(out) < expect and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500).values():
            out += [decode(AlertEvent, r.value) for r in recs]
    consumer.close()
    return out


def read_dead_letters(settings: Settings) -> list[DeadLetter]:
    consumer = make_consumer(settings.kafka, group_id=settings.group("test-dlq"),
                             topics=[settings.kafka.topics.dlq])
    out: list[DeadLetter] = []
    deadline = time.monotonic() + 10
    while not out and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500).values():
            out += [decode(DeadLetter, r.value) for r in recs]
    consumer.close()
    return out


def test_burst_fires_once_and_resolves_with_signed_notifications(kafka_settings, receiver: Receiver,
                                                                 alert_settings) -> None:
    settings = alert_settings(kafka_settings, receiver)
    with worker(settings):
        publish(settings, noise() + burst("JPM"), raw=[b"not json"])
        wait_until(lambda: any("resolved" in h for _, h in alerts_of(settings)), 40, "resolution")
        receiver.wait_for(2)
        time.sleep(1.0)
    [(alert, states)] = alerts_of(settings)
    assert (alert.rule, alert.key, alert.state) == ("burst", "JPM", "resolved")
    assert states == ["pending", "firing", "resolved"]
    payloads = receiver.verified()  # raises unless every signature verifies
    assert [p["type"] for p in payloads] == ["alert.firing", "alert.resolved"]
    fired = payloads[0]["data"]
    assert fired["value"] == 1.0 and fired["threshold"] == 0.6 and fired["counts"]["bearish"] == 6
    assert len(fired["evidence"]) == 5 and "JPM plunges on probe" in fired["evidence"][0]["title"]
    assert fired["evidence"][0]["url"].startswith("https://news.example/")
    assert fired["model_version"] == "v-test"
    events = read_alert_events(settings, 3)
    assert [e.state for e in events] == ["pending", "firing", "resolved"]
    assert {e.alert_id for e in events} == {alert.id}
    [letter] = read_dead_letters(settings)
    assert letter.stage == "alerts" and letter.original == b"not json" and "JSON" in letter.error


def test_syndicated_copies_do_not_fire_a_novel_only_rule(kafka_settings, receiver: Receiver,
                                                          alert_settings) -> None:
    rules = BURST_RULES + BURST_RULES.replace("name: burst", "name: any-copy").replace(
        "novel_only: true", "novel_only: false").split("rules:\n", 1)[1]
    settings = alert_settings(kafka_settings, receiver, rules=rules)
    with worker(settings):
        # Dated now, once the worker is up: made before it started, they could be older than
        # the rules' 4 s window by the time it reads them (its start took 6.5 s on a busy machine).
        original = classified(sentiment="bearish", tickers=("JPM",))
        copies = [classified(sentiment="bearish", tickers=("JPM",), duplicate_of=original.article.id)
                  for _ in range(5)]
        publish(settings, [original, *copies])
        wait_until(lambda: alerts_of(settings, "any-copy"), 30, "the control rule to fire")
        time.sleep(2.0)  # several more evaluations
    assert alerts_of(settings, "burst") == []
    assert all(p["data"]["rule"] == "any-copy" for p in receiver.verified())


def test_down_receiver_does_not_stall_the_stream(kafka_settings, receiver_server: Server,
                                                 alert_settings) -> None:
    settings = alert_settings(kafka_settings, receiver_server.rx, max_attempts=4, retry_base_s=1.0,
                              retry_max_s=4.0)
    with worker(settings):
        publish(settings, burst("JPM"))
        wait_until(lambda: _fired(settings, "JPM"), 30, "JPM to fire")
        publish(settings, burst("BAC"))
        wait_until(lambda: _fired(settings, "BAC"), 30, "BAC to fire")
        with session_factory(settings.database)() as s:
            jpm = next(a for a, _ in alerts_of(settings) if a.key == "JPM")
            first = q.deliveries_for_alert(s, jpm.id)[0]
            assert first.status == "pending"  # still retrying while BAC was detected
        wait_until(lambda: _status(settings, jpm.id) == "dead", 30, "the delivery to go dead")
    with session_factory(settings.database)() as s:
        d = q.deliveries_for_alert(s, jpm.id)[0]
        attempts = q.attempts_for(s, d.id)
    assert len(attempts) == 4
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[-1] > gaps[0]  # backing off
    receiver_server.start()
    assert redeliver(settings, jpm.id) == 0
    assert receiver_server.rx.verified()[0]["data"]["key"] == "JPM"


def _fired(settings: Settings, key: str) -> bool:
    return any(a.key == key and "firing" in h for a, h in alerts_of(settings))


def _status(settings: Settings, alert_id: str) -> str:
    with session_factory(settings.database)() as s:
        return q.deliveries_for_alert(s, alert_id)[0].status


KILL_RULES = """
rules:
  - name: burst
    scope: ticker
    metric: bearish_count
    window: 40s
    bucket: 2s
    min_count: 4
    detector: {type: threshold, above: 3}
"""


def _spawn(settings_file: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FINPULSE_CONFIG": str(settings_file), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "system.cli", "alerts"], cwd=REPO_ROOT,
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_ready(log: Path, times: int) -> None:
    wait_until(lambda: log.read_text(errors="replace").count("alerts worker ready") >= times, 90,
               f"worker start #{times}:\n{log.read_text(errors='replace')[-3000:]}")


def test_killed_worker_neither_forgets_nor_repeats(kafka_settings, receiver: Receiver, alert_settings,
                                                   tmp_path: Path) -> None:
    settings = alert_settings(kafka_settings, receiver, rules=KILL_RULES)
    cfg, log = write_settings_file(settings, tmp_path / "settings.yaml"), tmp_path / "worker.log"
    proc = _spawn(cfg, log)
    try:
        _wait_ready(log, 1)
        publish(settings, burst("JPM", 2))  # half the burst...
        time.sleep(3.0)
        os.killpg(proc.pid, signal.SIGKILL)  # ...then the worker dies mid-window
        proc.wait(10)
        assert alerts_of(settings) == []
        proc = _spawn(cfg, log)
        _wait_ready(log, 2)
        publish(settings, burst("JPM", 2))  # the rest of the burst
        wait_until(lambda: alerts_of(settings), 30, "the alert to fire")
        receiver.wait_for(1)
        os.killpg(proc.pid, signal.SIGKILL)  # killed again while it is firing
        proc.wait(10)
        proc = _spawn(cfg, log)
        _wait_ready(log, 3)
        time.sleep(3.0)  # ten evaluations on the recovered state
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    [(alert, states)] = alerts_of(settings)
    assert states == ["pending", "firing"] and alert.state == "firing"
    assert [p["type"] for p in receiver.verified()] == ["alert.firing"]
    assert receiver.verified()[0]["data"]["counts"]["bearish"] == 4
