"""``GET /v1/stream`` against a real broker: events of fresh topics in order with resumable
ids, a resume from the 2nd event's id, filters, undecodable records skipped, bad ids and
missing keys refused, and a live stream over real HTTP (uvicorn) whose consumer closes when
the client goes."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from kafka import KafkaConsumer, TopicPartition

from api import stream as feeds
from api.app import create_app
from finpulse.kafka import make_producer, send_message
from finpulse.schemas import AlertEvent, ClassifiedArticle
from finpulse.settings import ApiSettings, KafkaSettings, Settings
from store.migrate import upgrade
from tests.alerts.factory import classified
from tests.api.conftest import TestClient, add_key
from tests.support import wait_until

pytestmark = pytest.mark.integration


@dataclass
class StreamApi:
    client: TestClient
    settings: Settings
    keys: dict[str, str]

    def headers(self, name: str = "reader", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}", **extra}

    def events(self, name: str = "reader", headers: dict[str, str] | None = None,
               **params) -> list[dict]:
        """The stream's events (``limit`` must be among ``params``: TestClient reads it all)."""
        assert "limit" in params
        with self.client.stream("GET", "/v1/stream", params=params,
                                headers={**self.headers(name), **(headers or {})}) as r:
            assert r.status_code == 200, r.read()
            assert r.headers["content-type"].startswith("text/event-stream")
            return parse("".join(r.iter_text()))


def parse(body: str) -> list[dict]:
    """SSE blocks as dicts (comments dropped; ``data`` parsed as JSON)."""
    out = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            out.append({**fields, "data": json.loads(fields["data"])})
    return out


@pytest.fixture
def stream_api(kafka_settings: KafkaSettings, make_settings: Callable[..., Settings],
               sqlite_url: str) -> Iterator[StreamApi]:
    settings = make_settings(kafka=kafka_settings, database_url=sqlite_url,
                             api=ApiSettings(rate_per_minute=600))
    upgrade(settings.database)
    keys = {"reader": add_key(settings, "reader", ("read",)),
            "labeler": add_key(settings, "labeler", ("label",))}
    with TestClient(create_app(settings)) as client:
        yield StreamApi(client, settings, keys)


def alert(n: int = 0) -> AlertEvent:
    now = datetime.now(UTC)
    return AlertEvent(alert_id=f"alert-{n}", fingerprint="bearish-share:ticker:AAPL",
                      rule="bearish-share", scope="ticker", key="AAPL", state="firing",
                      metric="bearish_share", value=0.8, threshold=0.6,
                      window_start=now - timedelta(minutes=15), window_end=now, at=now)


def publish(kafka: KafkaSettings, articles: list[ClassifiedArticle], alerts: list[AlertEvent] = (),
            raw: list[bytes] = ()) -> None:
    """Articles all under one key (one partition: their order is defined), then alerts."""
    producer = make_producer(kafka, client_id="test-stream")
    try:
        for value in raw:
            producer.send(kafka.topics.classified, key=b"same", value=value)
        for a in articles:
            send_message(producer, kafka.topics.classified, "same", a)
        for a in alerts:
            send_message(producer, kafka.topics.alerts, a.fingerprint, a)
        producer.flush()
    finally:
        producer.close()


def end_offsets(kafka: KafkaSettings) -> dict[str, dict[int, int]]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=None)
    try:
        out: dict[str, dict[int, int]] = {}
        for key, topic in (("c", kafka.topics.classified), ("a", kafka.topics.alerts)):
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            out[key] = {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
        return out
    finally:
        consumer.close()


def earlier() -> str:
    return (datetime.now(UTC) - timedelta(minutes=1)).isoformat()


def test_events_in_order_with_ids_and_a_resume_after_the_second(stream_api: StreamApi) -> None:
    kafka = stream_api.settings.kafka
    sent = [classified(tickers=("AAPL",), sentiment="bullish"), classified(tickers=("MSFT",)),
            classified(tickers=("AAPL", "NVDA"), topic="Earnings", sentiment="bearish")]
    fired = alert(1)
    since = earlier()
    publish(kafka, sent, [fired])

    events = stream_api.events(since=since, limit=4)
    articles = [e for e in events if e["event"] == "article"]
    alerts = [e for e in events if e["event"] == "alert"]
    assert [e["data"]["id"] for e in articles] == [a.article.id for a in sent]
    first = articles[0]["data"]
    assert set(first) == {"id", "title", "source", "url", "published", "tickers", "topic",
                          "topic_confidence", "sentiment", "sentiment_score", "model_version",
                          "classified_at"}
    assert first["tickers"] == ["AAPL"] and first["sentiment"] == "bullish"
    assert articles[2]["data"]["topic"] == "Earnings"
    assert [e["data"]["alert_id"] for e in alerts] == ["alert-1"]
    assert AlertEvent.model_validate(alerts[0]["data"]) == fired

    # Every id holds every partition of both topics; each event moves exactly its own.
    positions = [feeds.decode_token(e["id"]) for e in events]
    assert all(set(p) == {"c", "a"} and len(p["c"]) == len(p["a"]) == 2 for p in positions)
    assert positions[-1] == end_offsets(kafka)
    totals = [sum(p["c"].values()) + sum(p["a"].values()) for p in positions]
    assert totals == list(range(totals[0], totals[0] + 4))
    article_offsets = [sum(feeds.decode_token(e["id"])["c"].values()) for e in articles]
    assert article_offsets == [1, 2, 3]

    # Reconnecting after the 2nd event gives exactly the other two, in the same order.
    rest = stream_api.events(headers={"Last-Event-ID": events[1]["id"]}, limit=2)
    assert rest == events[2:]
    # The query parameter does the same (for clients that cannot set headers).
    assert stream_api.events(last_event_id=events[1]["id"], limit=2) == events[2:]


def test_filters_by_ticker_topic_and_type(stream_api: StreamApi) -> None:
    kafka = stream_api.settings.kafka
    sent = [classified(tickers=("AAPL",)), classified(tickers=("MSFT",)),
            classified(tickers=("NVDA", "aapl"), topic="Earnings")]
    since = earlier()
    publish(kafka, sent, [alert()])

    aapl = stream_api.events(since=since, ticker="aapl", types="article", limit=2)
    assert [e["data"]["id"] for e in aapl] == [sent[0].article.id, sent[2].article.id]
    both = stream_api.events(since=since, ticker=["MSFT", "NVDA"], topic="Earnings", types="article",
                             limit=1)
    assert [e["data"]["id"] for e in both] == [sent[2].article.id]
    only_alerts = stream_api.events(since=since, types="alert", limit=1)
    assert [e["event"] for e in only_alerts] == ["alert"]
    assert set(feeds.decode_token(only_alerts[0]["id"])) == {"a"}


def test_undecodable_records_are_skipped(stream_api: StreamApi) -> None:
    kafka = stream_api.settings.kafka
    good = classified(tickers=("AAPL",))
    since = earlier()
    publish(kafka, [good], raw=[b"\xff not json", b'{"schema": 1, "article": {}}'])
    events = stream_api.events(since=since, types="article", limit=1)
    assert [e["data"]["id"] for e in events] == [good.article.id]


@pytest.mark.parametrize("token", ["not-a-token!", "e30x", "eyJ4Ijp7fX0", "eyJjIjp7IjAiOi0xfX0"])
def test_a_malformed_id_is_a_400_naming_it(stream_api: StreamApi, token: str) -> None:
    r = stream_api.client.get("/v1/stream", params={"last_event_id": token, "limit": 1},
                              headers=stream_api.headers())
    assert r.status_code == 400 and "last_event_id" in r.json()["detail"]
    r = stream_api.client.get("/v1/stream", params={"limit": 1},
                              headers=stream_api.headers(**{"Last-Event-ID": token}))
    assert r.status_code == 400 and "last_event_id" in r.json()["detail"]


def test_bad_types_no_key_and_wrong_scope(stream_api: StreamApi) -> None:
    r = stream_api.client.get("/v1/stream", params={"types": "article,trade", "limit": 1},
                              headers=stream_api.headers())
    assert r.status_code == 400 and "'trade'" in r.json()["detail"]
    assert stream_api.client.get("/v1/stream", params={"limit": 1}).status_code == 401
    r = stream_api.client.get("/v1/stream", params={"limit": 1}, headers=stream_api.headers("labeler"))
    assert r.status_code == 403 and "read" in r.json()["detail"]


def test_token_round_trip() -> None:
    positions = {"c": {0: 5, 1: 0}, "a": {0: 2}}
    token = feeds.encode_token(positions)
    assert "=" not in token and feeds.decode_token(token) == positions
    assert json.loads(base64.urlsafe_b64decode(token + "==")) == {"a": {"0": 2}, "c": {"0": 5, "1": 0}}


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("finpulse-stream-") and t.is_alive()]


def test_live_over_http_with_heartbeats_and_the_consumer_closed_on_disconnect(
        stream_api: StreamApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "HEARTBEAT_S", 0.3)
    kafka = stream_api.settings.kafka
    publish(kafka, [classified(tickers=("OLD",))])  # before the connection: not streamed
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(stream_api.client.app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout_s=10, what="uvicorn")
        fresh = classified(tickers=("NEW",))
        lines: list[str] = []
        with httpx.stream("GET", f"http://127.0.0.1:{port}/v1/stream",
                          headers=stream_api.headers(), timeout=30) as r:
            assert r.status_code == 200
            it = r.iter_lines()
            lines.append(next(it))
            assert lines[0] == ": keep-alive"  # nothing yet: a heartbeat
            publish(kafka, [fresh], [alert(2)])
            deadline = time.monotonic() + 30
            while sum(line.startswith("data: ") for line in lines) < 2 and time.monotonic() < deadline:
                lines.append(next(it))
            assert stream_threads(), "the consumer thread runs while the client reads"
        events = parse("\n".join(lines) + "\n\n")
        assert sorted(e["event"] for e in events) == ["alert", "article"]
        assert [e["data"]["id"] for e in events if e["event"] == "article"] == [fresh.article.id]
        wait_until(lambda: not stream_threads(), timeout_s=15, what="the consumer thread to end")
    finally:
        server.should_exit = True
        thread.join(15)
