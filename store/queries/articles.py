"""Article reads for the dashboard: filtered search, and the headlines behind a point in time.

Filters become bound parameters (never string-formatted SQL). Every search is bounded by a
publication-time window, so it stays on the ``published`` index as history grows. A ticker
filter reads the ``(ticker, published)`` index of ``article_tickers`` instead (one query per
ticker, merged), and headline text uses the database's text index (``text_search``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from store import tables as m
from store.queries import text_search

DUPLICATES = ("include", "exclude", "only")


@dataclass(frozen=True)
class ArticleFilter:
    """What the Articles page asks for. Empty sequences mean "any"."""

    start: datetime
    end: datetime
    text: str = ""
    topics: Sequence[str] = ()
    sentiments: Sequence[str] = ()
    tickers: Sequence[str] = ()
    sources: Sequence[str] = ()
    languages: Sequence[str] = ()
    min_confidence: float = 0.0
    max_confidence: float = 1.0
    duplicates: str = "include"

    def __post_init__(self) -> None:
        if self.duplicates not in DUPLICATES:
            raise ValueError(f"duplicates={self.duplicates!r}: expected one of {DUPLICATES}")
        if self.end <= self.start:
            raise ValueError(f"empty time window: start {self.start} is not before end {self.end}")


COLUMNS = (
    m.Article.id, m.Article.published, m.Article.published_precision, m.Article.source,
    m.Article.title, m.Article.url,
    m.Article.language, m.Article.duplicate_of, m.Prediction.topic,
    m.Prediction.topic_confidence, m.Prediction.sentiment, m.Prediction.sentiment_confidence,
    m.Prediction.sentiment_score, m.Prediction.model_version,
)


def unindexed(col: Any, dialect: str) -> Any:
    """``col`` as an expression no index can serve, on SQLite only. Without statistics SQLite
    prefers any equality index over the publication-time range, even one as unselective as
    sentiment = 'bearish' (a third of all rows); PostgreSQL's planner has statistics."""
    return col.op("||")("") if dialect == "sqlite" else col


def _base(f: ArticleFilter, ticker: str | None) -> Select:
    """Articles with their predictions in the window, newest first; with ``ticker``, read
    from that ticker's ``(ticker, published)`` index range instead of all articles."""
    a, p, t = m.Article, m.Prediction, m.ArticleTicker
    if ticker is None:
        return (select(*COLUMNS).join(p, p.article_id == a.id)
                .where(a.published >= f.start, a.published < f.end)
                .order_by(a.published.desc(), a.id))
    return (select(*COLUMNS).select_from(t)
            .join(a, a.id == t.article_id).join(p, p.article_id == a.id)
            .where(t.ticker == ticker, t.published >= f.start, t.published < f.end)
            .order_by(t.published.desc(), t.article_id))


def _filtered(f: ArticleFilter, dialect: str = "postgresql", ticker: str | None = None) -> Select:
    a, p = m.Article, m.Prediction
    stmt = _base(f, ticker)
    if f.text.strip():
        stmt = stmt.where(text_search.contains(a.title, f.text.strip()))
    if f.topics:
        stmt = stmt.where(unindexed(p.topic, dialect).in_(list(f.topics)))
    if f.sentiments:
        stmt = stmt.where(unindexed(p.sentiment, dialect).in_(list(f.sentiments)))
    if f.sources:
        stmt = stmt.where(a.source.in_(list(f.sources)))  # selective: its index may drive
    if f.languages:
        stmt = stmt.where(a.language.in_(list(f.languages)))
    if f.tickers and ticker is None:
        t = m.ArticleTicker
        stmt = stmt.where(exists().where(t.article_id == a.id, t.ticker.in_(_tickers(f))))
    if f.min_confidence > 0:
        stmt = stmt.where(p.topic_confidence >= f.min_confidence)
    if f.max_confidence < 1:
        stmt = stmt.where(p.topic_confidence <= f.max_confidence)
    if f.duplicates == "exclude":
        stmt = stmt.where(unindexed(a.duplicate_of, dialect).is_(None))
    elif f.duplicates == "only":
        stmt = stmt.where(unindexed(a.duplicate_of, dialect).is_not(None))
    return stmt


def search(session: Session, f: ArticleFilter, *, limit: int = 500) -> list[dict[str, Any]]:
    """Articles matching ``f``, newest first, with their tickers."""
    dialect = session.get_bind().dialect.name
    needle = f.text.strip()
    if text_search.never_matches(needle, dialect):
        return []
    if needle:
        text_search.plan_per_value(session)
    if f.tickers and not f.sources:  # with sources, the source index drives (measured)
        rows = _newest([r for t in _tickers(f)
                        for r in _rows(session, _filtered(f, dialect, ticker=t), limit)], limit)
    else:
        stmt = _filtered(f, dialect)
        hits = None
        if needle and dialect == "sqlite":
            hits = text_search.fts_candidates(session, needle)
        if hits is not None:
            stmt = stmt.where(text_search.ARTICLE_ROWID.in_(hits))
        rows = _rows(session, stmt, limit)
    _attach_tickers(session, rows)
    return rows


def _tickers(f: ArticleFilter) -> list[str]:
    return sorted({x.upper() for x in f.tickers})


def _rows(session: Session, stmt: Select, limit: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(stmt.limit(limit))]


def _newest(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The per-ticker results merged: each article once, newest first (ties by id)."""
    unique = sorted({r["id"]: r for r in rows}.values(), key=lambda r: r["id"])
    return sorted(unique, key=lambda r: r["published"], reverse=True)[:limit]


def _attach_tickers(session: Session, rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    found: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for aid, ticker in session.execute(
            select(m.ArticleTicker.article_id, m.ArticleTicker.ticker)
            .where(m.ArticleTicker.article_id.in_(chunk))
            .order_by(m.ArticleTicker.ticker)
        ):
            found.setdefault(aid, []).append(ticker)
    for r in rows:
        r["tickers"] = " ".join(found.get(r["id"], []))


def headlines(
    session: Session, *, dim: str, key: str, start: datetime, end: datetime, limit: int = 50
) -> list[dict[str, Any]]:
    """The articles behind one rollup point: ``dim`` ('topic', 'ticker', 'source' or 'all')
    equal to ``key``, published in ``[start, end)``, newest first."""
    if dim not in ("topic", "ticker", "source", "all"):
        raise ValueError(f"unknown drill-down dim {dim!r}")
    f = ArticleFilter(
        start=start, end=end,
        topics=(key,) if dim == "topic" else (),
        tickers=(key,) if dim == "ticker" else (),
        sources=(key,) if dim == "source" else (),
    )
    return search(session, f, limit=limit)


def sources(session: Session, *, recent: int = 5000) -> list[str]:
    """Sources of the newest ``recent`` articles plus every source ingest reports on (a
    bounded read, whatever the history)."""
    a = m.Article
    newest = select(a.source).order_by(a.published.desc()).limit(recent).subquery()
    found = set(session.scalars(select(newest.c.source).distinct()))
    found |= set(session.scalars(select(m.SourceStatus.name)))
    return sorted(v for v in found if v)


def languages(session: Session, *, since: datetime, recent: int = 5000) -> list[str]:
    """Languages of the newest ``recent`` articles published since ``since``."""
    a = m.Article
    newest = (select(a.language).where(a.published >= since)
              .order_by(a.published.desc()).limit(recent).subquery())
    return sorted(v for v in session.scalars(select(newest.c.language).distinct()) if v)
