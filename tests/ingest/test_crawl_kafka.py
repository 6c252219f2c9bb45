"""The crawler publishing to a real Kafka: articles on news.raw keyed by id, an unparseable
feed on news.dlq with source, URL and reason; and the `finpulse ingest --once` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from finpulse.schemas import Article, DeadLetter, decode
from ingest.run import run_once
from tests.ingest.conftest import read_topic
from tests.ingest.sites import LOREM, article_html, ingest_settings, rss, write_sources

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_crawl_publishes_to_news_raw_and_dead_letters(
    httpserver: HTTPServer, kafka_settings, make_settings, tmp_path: Path
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/story").respond_with_data(
        article_html("Northwind shares jump on strong quarter", LOREM), content_type="text/html"
    )
    feed = rss([{"title": "Northwind shares jump on strong quarter", "link": "/story"}])
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="text/xml")
    httpserver.expect_request("/bad").respond_with_data(
        "<html><title>Oops</title></html>", content_type="text/html"
    )
    settings = make_settings(kafka=kafka_settings, ingest=ingest_settings(tmp_path))
    write_sources(settings.ingest.sources_file, [
        {"name": "feed", "type": "feed", "url": httpserver.url_for("/feed")},
        {"name": "bad", "type": "feed", "url": httpserver.url_for("/bad")},
    ])
    summary = run_once(settings)
    assert (summary.sources_ok, summary.sources_failed, summary.articles) == (1, 1, 1)

    [record] = read_topic(kafka_settings, kafka_settings.topics.raw, expect=1)
    article = decode(Article, record.value)
    assert record.key.decode() == article.id and article.url == httpserver.url_for("/story")
    assert article.text.startswith("Shares of Northwind")
    dead = read_topic(kafka_settings, kafka_settings.topics.dlq, expect=1)
    [letter] = [decode(DeadLetter, r.value) for r in dead]
    assert (letter.source, letter.url, letter.stage) == ("bad", httpserver.url_for("/bad"), "ingest.parse")
    assert "not an RSS/Atom feed" in letter.error and letter.original.startswith(b"<html>")

    assert run_once(settings).articles == 0  # a restart publishes nothing again


def test_ingest_once_command_writes_jsonl_and_a_summary(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/feed").respond_with_data(rss([
        {"title": "Tesla deliveries beat forecasts", "link": "/t",
         "description": "Tesla delivered more cars than expected."},
    ]), content_type="text/xml")
    sources = write_sources(tmp_path / "sources.yaml", [
        {"name": "wire", "type": "feed", "url": httpserver.url_for("/feed"), "fetch_pages": False},
    ])
    out = tmp_path / "out.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_INGEST__STATE_DIR"] = str(tmp_path / "state")
    proc = subprocess.run(
        [sys.executable, "-m", "system.cli", "ingest", "--once", "--sources", str(sources),
         "--output", str(out), "--allow-private"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [line] = out.read_text().splitlines()
    message = json.loads(line)
    assert message["schema"] == 1 and message["title"] == "Tesla deliveries beat forecasts"
    assert message["tickers"] == ["TSLA"]
    assert "sources: 1 ok, 0 failed; articles: 1" in proc.stderr
