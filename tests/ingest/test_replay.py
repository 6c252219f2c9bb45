"""Replay of CSV and JSON-lines files onto a real Kafka: good rows as articles keyed by id,
bad rows dead-lettered with file, line and reason, and the replay carries on."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from finpulse.schemas import Article, DeadLetter, decode
from ingest.publish import JsonlSink, MemorySink
from ingest.replay import Replay, publish_replay, row_to_article
from ingest.replay_rows import BadRow, Row, read_rows
from tests.ingest.conftest import read_topic

CSV = (
    "text,title,url,label\n"
    '"Apple beats on earnings. Shares of $AAPL rose 5% after hours.",,https://ex.com/a?utm_source=rss,1\n'
    '"",empty,,0\n'
    '"Goldman Sachs cuts its Tesla price target\nAnalysts see weaker deliveries.",,,2\n'
    "too,many,fields,here,really\n"
    '"Oil rallies as OPEC+ extends output cuts",,,2\n'
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.unit
def test_csv_rows_keep_line_numbers_and_name_bad_rows(tmp_path: Path) -> None:
    rows = list(read_rows(write(tmp_path, "news.csv", CSV)))
    good = [r for r in rows if isinstance(r, Row)]
    bad = [r for r in rows if isinstance(r, BadRow)]
    assert [r.line for r in good] == [2, 4, 7]
    assert "Analysts see weaker deliveries." in good[1].data["text"]  # newline inside quotes
    assert [(b.line, b.reason.split(" (")[0]) for b in bad] == [
        (3, "no text"), (6, "expected 4 fields, found 5"),
    ]


@pytest.mark.unit
def test_row_becomes_article_with_title_tickers_and_url_id() -> None:
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    row = Row(2, {"text": "Goldman Sachs cuts its Tesla target. More below.\nDetails.", "url": "https://EX.com/a?utm_medium=x"})
    article = row_to_article(row, source="replay:t", now=now)
    assert article.title == "Goldman Sachs cuts its Tesla target. More below."
    assert article.url == "https://ex.com/a"
    assert article.tickers == []  # no cashtag, and no watchlist given
    assert now - timedelta(seconds=90) <= article.published <= now
    assert article.fetched == now
    again = row_to_article(row, source="replay:t", now=now)
    assert again.id == article.id  # stable across runs
    second_pass = row_to_article(row, source="replay:t", now=now, loop_pass=1)
    assert second_pass.id != article.id


@pytest.mark.integration
def test_replay_csv_to_kafka_dead_letters_bad_rows(kafka_settings, make_settings, tmp_path: Path) -> None:
    settings = make_settings(kafka=kafka_settings)
    path = write(tmp_path, "news.csv", CSV)
    assert publish_replay(settings, path) == 3

    raw = read_topic(kafka_settings, kafka_settings.topics.raw, expect=3)
    articles = [decode(Article, r.value) for r in raw]
    assert all(r.key.decode() == a.id for r, a in zip(raw, articles, strict=True))
    by_title = {a.title: a for a in articles}
    assert set(by_title) == {
        "Apple beats on earnings. Shares of $AAPL rose 5% after hours.",
        "Goldman Sachs cuts its Tesla price target", "Oil rallies as OPEC+ extends output cuts",
    }
    assert by_title["Goldman Sachs cuts its Tesla price target"].tickers == ["GS", "TSLA"]
    apple = by_title["Apple beats on earnings. Shares of $AAPL rose 5% after hours."]
    assert apple.tickers == ["AAPL"]
    assert apple.url == "https://ex.com/a" and apple.language == "en"
    assert apple.source == "replay:news"

    dead = read_topic(kafka_settings, kafka_settings.topics.dlq, expect=2)
    dlq = [decode(DeadLetter, r.value) for r in dead]
    assert sorted(d.error for d in dlq) == [
        f"{path}:3: no text (the 'text' field is missing or empty)",
        f"{path}:6: expected 4 fields, found 5",
    ]
    assert all(d.stage == "ingest.replay" and d.source == "replay:news" for d in dlq)
    assert any(d.original == b"too,many,fields,here,really" for d in dlq)


@pytest.mark.integration
def test_replay_jsonl_with_limit_rate_and_loop(kafka_settings, make_settings, tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"Story number {i} about $MSFT and Microsoft cloud growth", "id": f"s{i}"})
             for i in range(3)]
    lines.insert(1, "{not json")
    lines.insert(2, "[1, 2]")
    path = write(tmp_path, "feed.jsonl", "\n".join(lines) + "\n")
    settings = make_settings(kafka=kafka_settings)
    sent = publish_replay(settings, path, rate_per_s=20, limit=5, loop=True)
    assert sent == 5  # the pacing itself: test_replay_paces_articles_at_the_rate

    records = read_topic(kafka_settings, kafka_settings.topics.raw, expect=5)
    ids = [r.key for r in records]
    assert len(records) == 5 and len(set(ids)) == 5  # the second pass has fresh ids
    dead = read_topic(kafka_settings, kafka_settings.topics.dlq, expect=4)
    dlq = [decode(DeadLetter, r.value) for r in dead]
    assert {d.error.split(": ", 1)[0] for d in dlq} == {f"{path}:2", f"{path}:3"}
    assert any("expected a JSON object, got list" in d.error for d in dlq)


class StepClock(threading.Event):
    """A stop event that is also the replay's clock: waiting on it moves the time on at once."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        return self.is_set()


@pytest.mark.unit
def test_replay_paces_articles_at_the_rate(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"Story number {i} about $MSFT and Microsoft cloud growth", "id": f"s{i}"})
             for i in range(3)]
    path = write(tmp_path, "feed.jsonl", "\n".join(lines) + "\n")
    clock, sent_at = StepClock(), []

    class TimedSink(MemorySink):
        def article(self, article: Article) -> None:
            sent_at.append(clock.now)
            super().article(article)

    replay = Replay(path=path, sink=TimedSink(), source="replay:feed", rate_per_s=20, limit=5,
                    loop=True, stop=clock, clock=clock.monotonic)
    assert replay.run() == 5
    assert sent_at == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20])  # 20/s, across the loop


@pytest.mark.unit
def test_replay_stops_when_asked(make_settings, tmp_path: Path) -> None:
    headlines = "".join(f"Headline {i} on markets today\n" for i in range(200))
    path = write(tmp_path, "many.csv", "text\n" + headlines)
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    sink = JsonlSink(tmp_path / "out.jsonl")
    sent = publish_replay(make_settings(), path, rate_per_s=50, stop=stop, sink=sink)
    sink.close()
    assert 5 <= sent < 200
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == sent


@pytest.mark.unit
def test_shift_keeps_the_files_spacing(make_settings, tmp_path: Path) -> None:
    rows = [
        {"text": "First story of the day on bonds", "published": "2024-03-01T10:00:00Z"},
        {"text": "Second story one minute later", "published": "2024-03-01T10:01:00Z"},
        {"text": "No timestamp here at all"},
    ]
    path = write(tmp_path, "t.jsonl", "\n".join(json.dumps(r) for r in rows))
    sink = JsonlSink(tmp_path / "out.jsonl")
    sent = publish_replay(make_settings(), path, speed=300.0, timestamps="shift", sink=sink)
    sink.close()
    out = [decode(Article, line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert sent == 2
    gap = out[1].published - out[0].published
    assert timedelta(seconds=0.1) <= gap <= timedelta(seconds=1.5)  # 60 s / 300
    dlq = (tmp_path / "out.dlq.jsonl").read_bytes().splitlines()
    assert len(dlq) == 1 and b":3: no readable 'published' timestamp" in json.loads(dlq[0])["error"].encode()
