"""The continuous crawler (`finpulse ingest`) against real Kafka and a real database: a feed
polled on its interval, a push endpoint, a paced replay, and per-source status saved."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from finpulse.schemas import Article, DeadLetter, decode
from ingest.run import run_forever
from ingest.status import format_table, load_status
from tests.ingest.conftest import read_topic
from tests.ingest.sites import ingest_settings, rss, write_sources
from tests.support import wait_until

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, payload: object) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_continuous_crawl_push_replay_and_status(httpserver: HTTPServer, kafka_settings, make_settings,
                                                  migrated, tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/feed").respond_with_data(
        rss([{"title": "Nvidia unveils new AI chip", "link": "/n", "description": "Nvidia showed a chip."}]),
        content_type="text/xml")
    replay = tmp_path / "replay.csv"
    replay.write_text("text,label\nBoeing wins large jet order from Gulf carrier,1\n,2\n", encoding="utf-8")
    push_url = f"http://127.0.0.1:{free_port()}/articles"
    settings = migrated(make_settings(kafka=kafka_settings, ingest=ingest_settings(tmp_path)))
    write_sources(settings.ingest.sources_file, [
        {"name": "wire", "type": "feed", "url": httpserver.url_for("/feed"), "poll_s": 1,
         "fetch_pages": False},
        {"name": "partner", "type": "push", "url": push_url},
        {"name": "replayed", "type": "replay", "path": str(replay), "rate_per_s": 50},
    ])
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(settings, stop), daemon=True)
    worker.start()
    try:
        wait_until(lambda: _accepts(push_url), timeout_s=20, what="the push endpoint")
        status, body = post(push_url, [{"text": "JPMorgan raises dividend by 10%", "url": "https://partner.example/jpm"}])
        assert status == 202 and len(body["accepted"]) == 1
        status, body = post(push_url, {"title": "no text here"})
        assert status == 400 and "item 0: no text" in body["error"]
        # The feed is polled again every second; it must not be published twice.
        wait_until(lambda: httpserver.log and sum(r.path == "/feed" for r, _ in httpserver.log) >= 3,
                   timeout_s=20, what="three polls of the feed")
        wait_until(lambda: ({s.name for s in load_status(settings.database) if s.last_success}
                            >= {"wire", "partner"}),
                   timeout_s=20, what="status rows")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()

    raw = read_topic(kafka_settings, kafka_settings.topics.raw, expect=3)
    articles = [decode(Article, r.value) for r in raw]
    assert sorted((a.source, a.title) for a in articles) == [
        ("partner", "JPMorgan raises dividend by 10%"),
        ("replayed", "Boeing wins large jet order from Gulf carrier"),
        ("wire", "Nvidia unveils new AI chip"),
    ]
    dead = read_topic(kafka_settings, kafka_settings.topics.dlq, expect=2)
    letters = [decode(DeadLetter, r.value) for r in dead]
    assert sorted(d.stage for d in letters) == ["ingest.push", "ingest.replay"]

    stats = {s.name: s for s in load_status(settings.database)}
    wire = stats["wire"]
    assert (wire.found, wire.new) == (wire.duplicate + 1, 1) and wire.found >= 3
    assert wire.http_status["200"] >= 3 and wire.failed == 0
    assert (stats["partner"].new, stats["partner"].failed) == (1, 1)
    assert "wire" in format_table(list(stats.values()), wire.last_success)


def _accepts(url: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])), timeout=1):
            return True
    except OSError:
        return False
