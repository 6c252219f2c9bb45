"""The read/write query functions the pages use, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from finpulse.errors import PermanentError
from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import session_factory
from store.migrate import upgrade
from store.queries import articles, dashboard, labels, trends
from tests.dashboard.seed import SPIKE_TICKER, SPIKE_TOPIC, seed_database

pytestmark = pytest.mark.integration


@pytest.fixture
def db(db_url: str):
    settings = DatabaseSettings(url=db_url)
    upgrade(settings)
    sessions = session_factory(settings)
    now = datetime.now(UTC)
    with sessions.begin() as s:
        seeded = seed_database(s, now, background=150, spike=30)
    return sessions, seeded


def test_series_matches_the_articles(db) -> None:
    sessions, seeded = db
    end = seeded.now + timedelta(hours=1)
    start = end - timedelta(days=4)
    with sessions() as s:
        topic = trends.series(s, dim="topic", grain="hour", start=start, end=end)
        overall = trends.series(s, dim="all", grain="minute", start=start, end=end)
    assert sum(p.n for p in topic) == len(seeded.articles) == sum(p.n for p in overall)
    assert sum(p.n for p in topic if p.key == SPIKE_TOPIC) >= len(seeded.spike_ids)


def test_movers_put_the_spike_first(db) -> None:
    sessions, seeded = db
    end = seeded.now + timedelta(minutes=1)
    with sessions() as s:
        topics = trends.movers(s, dim="topic", grain="minute", start=end - timedelta(hours=1),
                               end=end)
        tickers = trends.movers(s, dim="ticker", grain="minute",
                                start=end - timedelta(hours=1), end=end)
    assert topics[0].key == SPIKE_TOPIC and topics[0].ratio > 1
    assert tickers[0].key == SPIKE_TICKER and tickers[0].net_sentiment < 0


def test_search_binds_user_text_literally(db) -> None:
    sessions, seeded = db
    window = dict(start=seeded.now - timedelta(days=4), end=seeded.now + timedelta(minutes=1))
    with sessions() as s:
        assert articles.search(s, articles.ArticleFilter(**window, text="%")) == []
        assert articles.search(s, articles.ArticleFilter(**window, text="' OR 1=1 --")) == []
        hits = articles.search(s, articles.ArticleFilter(**window, text="STORY 12"))
    expected = {x.article.id for x in seeded.articles if "story 12" in x.article.title}
    assert expected and {h["id"] for h in hits} == expected


def test_filter_rejects_bad_input() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="duplicates='maybe'"):
        articles.ArticleFilter(start=now - timedelta(hours=1), end=now, duplicates="maybe")
    with pytest.raises(ValueError, match="empty time window"):
        articles.ArticleFilter(start=now, end=now)


def test_label_queue_boosts_alert_evidence_then_least_confident(db) -> None:
    sessions, seeded = db
    since = seeded.now - timedelta(days=7)
    with sessions() as s:
        q = labels.queue(s, since=since, limit=10)
    assert [i.article_id for i in q[:5]] and all(i.boosted for i in q[:5])
    assert {i.article_id for i in q[:5]} == set(seeded.spike_ids[:5])
    rest = [min(i.topic_confidence, i.sentiment_confidence) for i in q[5:]]
    assert rest == sorted(rest) and not any(i.boosted for i in q[5:])
    first = q[0]
    with sessions.begin() as s:
        labels.save_labels(s, first.article_id, topic="Macro", sentiment=None, by="ana",
                           at=seeded.now)
        labels.save_labels(s, first.article_id, topic="IPO", sentiment=None, by="ana",
                           at=seeded.now)  # a correction replaces the label
    with sessions() as s:
        stored = list(s.scalars(select(m.Label)))
        assert [(x.task, x.label, x.labeled_by) for x in stored] == [("topic", 11, "ana")]
        assert first.article_id not in {i.article_id for i in labels.queue(s, since=since)}
    with pytest.raises(ValueError, match="unknown topic label 'Nope'"), sessions.begin() as s:
        labels.save_labels(s, first.article_id, topic="Nope", sentiment=None, by="ana",
                           at=seeded.now)


def test_alert_and_model_writes_name_what_is_missing(db) -> None:
    sessions, seeded = db
    with pytest.raises(PermanentError, match="no alert with id 'nope'"), sessions.begin() as s:
        dashboard.acknowledge(s, "nope", by="ana", at=seeded.now)
    with sessions() as s:
        assert dashboard.champion(s)["version"] == "v2"
        assert dashboard.rollback_target(s) is None  # v2 was the first champion promoted
    with sessions.begin() as s:
        sid = dashboard.silence(s, rule="topic-spike", key=None, duration=timedelta(hours=1),
                                by="ana", reason="", now=seeded.now)
    with sessions() as s:
        assert [x["id"] for x in dashboard.active_silences(s, now=seeded.now)] == [sid]
        assert dashboard.active_silences(s, now=seeded.now + timedelta(hours=2)) == []
        detail = dashboard.alert_detail(s, "a-earnings")
    assert [a["status_code"] for a in detail["deliveries"][0]["attempt_log"]] == [503, 200]
    assert [h["state"] for h in detail["history"]] == ["pending", "firing"]
