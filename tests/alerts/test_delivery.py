"""Webhook delivery against a local receiver: Standard Webhooks signatures, retries with the
same webhook-id, no retry on 4xx, Retry-After, dead deliveries, redelivery, the three
formats and ``finpulse alerts test-webhook``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from alerts.detectors import Observation
from alerts.dispatcher import Dispatcher, start_dispatcher
from alerts.lifecycle import Transition
from alerts.pipeline import Change, Recorder
from alerts.rulefile import parse_rules
from alerts.rules import fingerprint
from finpulse.settings import Settings, WebhookReceiver
from store.db import session_factory
from store.queries import alerts as q
from system.cli import main
from tests.alerts.conftest import BURST_RULES, Receiver, Server
from tests.conftest import write_settings_file

pytestmark = pytest.mark.integration


def firing_change(kind: str = "firing", alert_id: str = "a" * 32) -> Change:
    rule = parse_rules(BURST_RULES).rules[0]
    now = time.time()
    obs = Observation(value=0.8, score=0.8, baseline=None, window_start=now - 4, window_end=now,
                      counts={"articles": 5, "bearish": 4, "bullish": 0, "neutral": 1}, count=5,
                      evidence=[{"article_id": "x" * 32, "title": "Bank slumps", "url": "https://n.example/1",
                                 "source": "wire", "sentiment": "bearish", "sentiment_score": -0.9,
                                 "published": datetime.now(UTC).isoformat()}], model_version="v1")
    tr = Transition(kind=kind, alert_id=alert_id, at=now, seq=0, started_at=now - 1, fired_at=now)
    return Change(rule, "JPM", fingerprint("burst", "ticker", "JPM"), obs, tr)


def dispatch_until(settings: Settings, done, timeout: float = 20.0) -> None:
    stop = threading.Event()
    dispatcher = Dispatcher(session_factory(settings.database), settings.alerts, poll_s=0.05)
    thread = start_dispatcher(dispatcher, stop)
    try:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)


def deliveries(settings: Settings, alert_id: str = "a" * 32):
    with session_factory(settings.database)() as s:
        return [(d, q.attempts_for(s, d.id)) for d in q.deliveries_for_alert(s, alert_id)]


def test_500_500_200_is_delivered_once_after_three_logged_attempts(receiver: Receiver, alert_settings,
                                                                   db_url: str) -> None:
    settings = alert_settings(None, receiver, database_url=db_url)
    receiver.script = [500, 500, 200]
    Recorder(session_factory(settings.database), settings.alerts).record([firing_change()])
    dispatch_until(settings, lambda: deliveries(settings)[0][0].status != "pending")
    [(d, attempts)] = deliveries(settings)
    assert d.status == "delivered" and d.attempts == 3
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert all(a.latency_ms is not None for a in attempts)
    assert attempts[0].error.startswith("HTTP 500")
    assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {d.webhook_id}
    payloads = receiver.verified()
    assert payloads[-1]["type"] == "alert.firing"
    data = payloads[-1]["data"]
    assert data["rule"] == "burst" and data["key"] == "JPM" and data["evidence"][0]["url"]
    assert data["labels"]["team"] == "banks" and data["dashboard_url"].startswith("http")


def test_4xx_is_not_retried(receiver: Receiver, alert_settings) -> None:
    settings = alert_settings(None, receiver)
    receiver.script = [400]
    Recorder(session_factory(settings.database), settings.alerts).record([firing_change()])
    dispatch_until(settings, lambda: deliveries(settings)[0][0].status != "pending")
    time.sleep(0.5)
    [(d, attempts)] = deliveries(settings)
    assert d.status == "dead" and [a.status_code for a in attempts] == [400]
    assert len(receiver.requests) == 1


def test_429_honours_retry_after(receiver: Receiver, alert_settings) -> None:
    settings = alert_settings(None, receiver, retry_base_s=0.05, retry_max_s=5)
    receiver.script = [429]
    receiver.extra_headers = {"Retry-After": "2"}
    Recorder(session_factory(settings.database), settings.alerts).record([firing_change()])
    dispatch_until(settings, lambda: deliveries(settings)[0][0].status == "delivered")
    [(d, attempts)] = deliveries(settings)
    assert [a.status_code for a in attempts] == [429, 200]
    assert (attempts[1].at - attempts[0].at).total_seconds() >= 1.9


def test_down_receiver_goes_dead_then_redeliver_resends(receiver_server: Server, alert_settings,
                                                        tmp_path, monkeypatch, capsys) -> None:
    rx = receiver_server.rx
    settings = alert_settings(None, rx)
    Recorder(session_factory(settings.database), settings.alerts).record([firing_change()])
    dispatch_until(settings, lambda: deliveries(settings)[0][0].status != "pending")
    [(d, attempts)] = deliveries(settings)
    assert d.status == "dead" and len(attempts) == settings.alerts.max_attempts
    assert all(a.status_code is None and "connection error" in a.error for a in attempts)
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(g >= 0.09 for g in gaps)  # backoff: at least half of base 0.2s
    receiver_server.start()
    monkeypatch.setenv("FINPULSE_CONFIG", str(write_settings_file(settings, tmp_path / "s.yaml")))
    assert main(["alerts", "redeliver", "a" * 32]) == 0
    assert "delivered" in capsys.readouterr().out
    [(d, attempts)] = deliveries(settings)
    assert d.status == "delivered" and len(attempts) == settings.alerts.max_attempts + 1
    assert rx.requests[0].headers["webhook-id"] == d.webhook_id
    assert rx.verified()[0]["data"]["state"] == "firing"
    assert main(["alerts", "redeliver", "nope"]) == 2


def test_silenced_alert_is_recorded_but_not_sent(receiver: Receiver, alert_settings, db_url: str) -> None:
    settings = alert_settings(None, receiver, database_url=db_url)
    now = datetime.now(UTC)
    sessions = session_factory(settings.database)
    with sessions.begin() as s:
        q.add_silence(s, rule="burst", key="JPM", until=now + timedelta(hours=1), created_by="t",
                      reason="maintenance", now=now)
    Recorder(sessions, settings.alerts).record([firing_change()])
    with sessions() as s:
        assert q.get_alert(s, "a" * 32).state == "firing"
    assert deliveries(settings) == []


@pytest.mark.parametrize("fmt", ["slack", "alertmanager"])
def test_other_formats(fmt: str, receiver: Receiver, alert_settings) -> None:
    settings = alert_settings(None, receiver)
    conf = settings.alerts.model_copy(update={"receivers": [
        WebhookReceiver(name="rx", url=receiver.url, secret=receiver.secret, format=fmt)]})
    Recorder(session_factory(settings.database), conf).record([firing_change()])
    dispatch_until(settings.model_copy(update={"alerts": conf}), lambda: len(receiver.requests) >= 1)
    body = receiver.verified()[0]
    if fmt == "slack":
        assert "burst" in body["text"] and "<https://n.example/1|Bank slumps>" in body["text"]
    else:
        assert body["version"] == "4" and body["status"] == "firing"
        assert body["alerts"][0]["labels"]["alertname"] == "burst"
        assert body["alerts"][0]["fingerprint"] and body["alerts"][0]["startsAt"]


def test_test_webhook_command(receiver: Receiver, alert_settings, tmp_path, monkeypatch, capsys) -> None:
    settings = alert_settings(None, None)
    monkeypatch.setenv("FINPULSE_CONFIG", str(write_settings_file(settings, tmp_path / "s.yaml")))
    receiver.script = [503, 200]
    assert main(["alerts", "test-webhook", "--url", receiver.url, "--secret", receiver.secret]) == 0
    out = capsys.readouterr().out
    assert "attempt 1: 503 retry" in out and "attempt 2: 200 delivered" in out
    assert Webhook(receiver.secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    receiver.script = [404]
    assert main(["alerts", "test-webhook", "--url", receiver.url, "--format", "slack"]) == 1
    assert "NOT delivered" in capsys.readouterr().out
    assert main(["alerts", "test-webhook", "--url", "ftp://x"]) == 2


def test_recording_is_idempotent_and_repeats_are_new_notifications(
    alert_settings, receiver: Receiver
) -> None:
    settings = alert_settings(None, receiver)
    recorder = Recorder(session_factory(settings.database), settings.alerts)
    recorder.record([firing_change()])
    recorder.record([firing_change(), firing_change()])  # a replay after a crash
    with session_factory(settings.database)() as s:
        assert [h.state for h in q.history(s, "a" * 32)] == ["firing"]
    assert len(deliveries(settings)) == 1
    recorder.record([firing_change("repeat")])
    [first, repeat] = [d for d, _ in deliveries(settings)]
    assert first.webhook_id != repeat.webhook_id and repeat.event == "firing"


def test_silence_command(alert_settings, tmp_path, monkeypatch, capsys) -> None:
    settings = alert_settings(None, None)
    monkeypatch.setenv("FINPULSE_CONFIG", str(write_settings_file(settings, tmp_path / "s.yaml")))
    assert main([
        "alerts", "silence", "--rule", "burst", "--key", "JPM", "--for", "2h", "--reason", "earnings",
    ]) == 0
    assert "rule=burst key=JPM" in capsys.readouterr().out
    now = datetime.now(UTC)
    with session_factory(settings.database)() as s:
        assert q.active_silence(s, "burst", "JPM", now) is not None
        assert q.active_silence(s, "burst", "BAC", now) is None
        assert q.active_silence(s, "burst", "JPM", now + timedelta(hours=3)) is None
    assert main(["alerts", "silence", "--for", "a while"]) == 2
    assert "--for: not a duration" in capsys.readouterr().err
