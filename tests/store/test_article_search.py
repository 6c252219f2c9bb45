"""Article search through the search indexes returns exactly what the plain scan returns:
headline text (FTS5 on SQLite, pg_trgm on PostgreSQL) and ticker + sentiment filters (the
``article_tickers.published`` copy), through upserts, reclassification, replays and deletes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.orm import Session

from finpulse.schemas import SENTIMENTS, TOPICS
from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import session_factory
from store.migrate import upgrade
from store.queries import articles, text_search
from store.writes import write_classified
from tests.store.factories import classified

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WINDOW = {"start": NOW - timedelta(days=2), "end": NOW}
# Headline fragments that FTS5 query syntax or LIKE would misread if they were not escaped.
FRAGMENTS = [
    'ACME "guides" lower', "EPS -5% vs. 3%", "Q3: beats", "AT&T AND Verizon", "NOT a drill",
    "NEAR(merger talks)", "C++ and C*", "under_score 50% off", "back\\slash", "caret ^up",
    "title:colon", "Äpfel & ÄPFEL", "Straße", "İstanbul bourse", "stocks 📈 rally",
    "{title} : braces", "it's O'Neil", "plus+minus", "(paren) [bracket]",
]
AWKWARD = [
    '"', '""', 'a"b', '"guides"', "*", "C*", "-", "-5%", ":", "Q3:", "title:", "AND", "and v",
    "OR", "NOT", "NOT a", "NEAR", "NEAR(merger", "(", ")", "^", "^up", "+", "%", "_", "50%",
    "r_s", "\\", "\\s", "'", "' OR 1=1 --", "äpfel", "ÄPFEL", "straße", "STRASSE", "i̇stanbul",
    "📈", "{title}", "o'neil", "\x00", "a\x00b", "ac", "a", "   acme   ", "acme guides",
    "headline", "zzz-no-such-thing", "ACME AND", '"ACME" OR "EPS"', "ACME*",
]


@pytest.fixture
def sessions(db_url: str):
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    return session_factory(db)


def stream(n: int = 400, seed: int = 3) -> list:
    """``n`` articles over the window; about half carry an awkward fragment in the headline."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        published = NOW - timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
        if i % 7 == 0:
            published = NOW - timedelta(hours=5)  # ties: ordered by id
        msg = classified(i, published=published, sentiment=rng.choice(SENTIMENTS),
                         tickers=rng.sample(["ACME", "AAPL", "JPM"], rng.choice((0, 1, 1, 2))),
                         rng=rng)
        if i % 2:
            title = f"{rng.choice(FRAGMENTS)} headline {i}"
            msg = msg.model_copy(update={"article": msg.article.model_copy(
                update={"title": title})})
        out.append(msg)
    return out


def like_naive(session: Session, f: articles.ArticleFilter, limit: int) -> list[str]:
    """What the search did before any search index: a case-insensitive LIKE over the window,
    and an EXISTS per article for tickers."""
    a, p, t = m.Article, m.Prediction, m.ArticleTicker
    stmt = (select(a.id).join(p, p.article_id == a.id)
            .where(a.published >= f.start, a.published < f.end))
    needle = f.text.strip()
    if "\x00" in needle and session.get_bind().dialect.name == "postgresql":
        return []  # PostgreSQL text holds no NUL (binding one raises): nothing contains it
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(a.title).like(f"%{escaped.lower()}%", escape="\\"))
    if f.sentiments:
        stmt = stmt.where(p.sentiment.in_(f.sentiments))
    if f.sources:
        stmt = stmt.where(a.source.in_(f.sources))
    if f.tickers:
        stmt = stmt.where(exists().where(t.article_id == a.id,
                                         t.ticker.in_([x.upper() for x in f.tickers])))
    return list(session.scalars(stmt.order_by(a.published.desc(), a.id).limit(limit)))


def ids(session: Session, f: articles.ArticleFilter, limit: int = 500) -> list[str]:
    return [r["id"] for r in articles.search(session, f, limit=limit)]


def test_text_search_equals_the_naive_like_on_awkward_input(sessions) -> None:
    with sessions.begin() as s:
        write_classified(s, stream(), NOW)
    with sessions() as s:
        sqlite = s.get_bind().dialect.name == "sqlite"
        for needle in AWKWARD:
            for limit in (500, 7):
                f = articles.ArticleFilter(**WINDOW, text=needle)
                assert ids(s, f, limit) == like_naive(s, f, limit), f"text={needle!r}"
        hits = {needle: len(like_naive(s, articles.ArticleFilter(**WINDOW, text=needle), 500))
                for needle in AWKWARD}
        if sqlite:  # the index path was the one taken for these
            assert text_search.fts_candidates(s, '"guides"') is not None
            assert text_search.fts_candidates(s, "NEAR(merger") is not None
            assert text_search.fts_candidates(s, "ac") is None  # under a trigram: plain scan
            assert text_search.fts_candidates(s, "headline", cap=10) is None  # too common
    assert hits['"guides"'] > 0 and hits["NEAR(merger"] > 0 and hits["50%"] > 0
    assert hits["%"] > 0 and hits["ACME AND"] == 0 and hits["zzz-no-such-thing"] == 0
    assert hits["headline"] > 100
    # SQLite's lower() and LIKE fold ASCII only, as before the index; PostgreSQL's fold Ä too.
    assert hits["äpfel"] == (0 if sqlite else len(hits) and hits["ÄPFEL"])


def test_text_search_follows_upserts_replays_and_deletes(sessions) -> None:
    msgs = stream(60)
    with sessions.begin() as s:
        write_classified(s, msgs, NOW)
    renamed = msgs[1].model_copy(update={
        "article": msgs[1].article.model_copy(update={"title": "Totally renamed story"}),
        "prediction": msgs[1].prediction.model_copy(update={"model_version": "v2"})})
    with sessions.begin() as s:
        write_classified(s, msgs + [renamed], NOW)  # a replay plus one changed headline
        s.execute(delete(m.Article).where(m.Article.id == msgs[3].article.id))
    with sessions() as s:
        for needle in ("renamed story", msgs[1].article.title, msgs[3].article.title, "headline"):
            f = articles.ArticleFilter(**WINDOW, text=needle)
            assert ids(s, f) == like_naive(s, f, 500), f"text={needle!r}"
        assert ids(s, articles.ArticleFilter(**WINDOW, text="renamed story")) == [renamed.article.id]
        assert ids(s, articles.ArticleFilter(**WINDOW, text=msgs[3].article.title)) == []
        if s.get_bind().dialect.name == "sqlite":  # the FTS index agrees with its content
            s.execute(text("INSERT INTO articles_fts(articles_fts, rank) "
                           "VALUES ('integrity-check', 1)"))


def test_ticker_and_sentiment_stay_exact_through_reclassification(sessions) -> None:
    msgs = stream(300, seed=5)
    with sessions.begin() as s:
        write_classified(s, msgs, NOW)
    filters = [articles.ArticleFilter(**WINDOW, tickers=tk, sentiments=se)
               for tk in (("ACME",), ("acme", "JPM"), ("AAPL", "JPM", "ACME"), ("NONE",))
               for se in ((), ("bearish",), ("bullish", "neutral"))]
    filters += [articles.ArticleFilter(**WINDOW, tickers=("ACME",), text="headline 1"),
                articles.ArticleFilter(**WINDOW, tickers=("acme", "JPM"), sources=("wire",),
                                       sentiments=("bearish",))]

    def check() -> None:
        with sessions() as s:
            for f in filters:
                for limit in (500, 9):
                    assert ids(s, f, limit) == like_naive(s, f, limit), f

    check()
    rng = random.Random(9)
    changed = []
    for msg in rng.sample(msgs, 120):  # a new model flips sentiment, tickers and times move
        sentiment = rng.choice([x for x in SENTIMENTS if x != msg.prediction.sentiment])
        tickers = rng.sample(["ACME", "AAPL", "JPM"], rng.choice((0, 1, 2)))
        article = msg.article.model_copy(update={
            "tickers": tickers, "published": msg.article.published - timedelta(minutes=17)})
        prediction = msg.prediction.model_copy(update={
            "sentiment": sentiment, "model_version": "v2",
            "topic": TOPICS[3], "topic_id": 3})
        changed.append(msg.model_copy(update={"article": article, "prediction": prediction,
                                              "tickers": tickers}))
    with sessions.begin() as s:
        assert write_classified(s, changed, NOW) == 120
        assert write_classified(s, changed, NOW) == 0  # replay
    check()
    with sessions() as s:
        stale = s.scalar(select(func.count()).select_from(m.ArticleTicker).join(
            m.Article, m.Article.id == m.ArticleTicker.article_id)
            .where(m.ArticleTicker.published != m.Article.published))
    assert stale == 0
