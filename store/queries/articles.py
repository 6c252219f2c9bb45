"""Article reads for the dashboard: filtered search, and the headlines behind a point in time.

Filters become bound parameters (never string-formatted SQL). Every search is bounded by a
publication-time window, so it stays on the ``published`` index as history grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from store import models as m

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
    m.Article.id, m.Article.published, m.Article.source, m.Article.title, m.Article.url,
    m.Article.language, m.Article.duplicate_of, m.Prediction.topic,
    m.Prediction.topic_confidence, m.Prediction.sentiment, m.Prediction.sentiment_confidence,
    m.Prediction.sentiment_score, m.Prediction.model_version,
)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def unindexed(col: Any, dialect: str) -> Any:
    """``col`` as an expression no index can serve, on SQLite only. Without statistics SQLite
    prefers any equality index over the publication-time range, even one as unselective as
    sentiment = 'bearish' (a third of all rows); PostgreSQL's planner has statistics."""
    return col.op("||")("") if dialect == "sqlite" else col


def _filtered(f: ArticleFilter, dialect: str = "postgresql") -> Select:
    a, p = m.Article, m.Prediction
    stmt = (
        select(*COLUMNS)
        .join(p, p.article_id == a.id)
        .where(a.published >= f.start, a.published < f.end)
    )
    if f.text.strip():
        stmt = stmt.where(func.lower(a.title).like(_like_pattern(f.text.strip()), escape="\\"))
    if f.topics:
        stmt = stmt.where(unindexed(p.topic, dialect).in_(list(f.topics)))
    if f.sentiments:
        stmt = stmt.where(unindexed(p.sentiment, dialect).in_(list(f.sentiments)))
    if f.sources:
        stmt = stmt.where(a.source.in_(list(f.sources)))  # selective: its index may drive
    if f.languages:
        stmt = stmt.where(a.language.in_(list(f.languages)))
    if f.tickers:
        t = m.ArticleTicker
        stmt = stmt.where(
            exists().where(t.article_id == a.id, t.ticker.in_([x.upper() for x in f.tickers]))
        )
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
    rows = [dict(r._mapping) for r in session.execute(
        _filtered(f, dialect).order_by(m.Article.published.desc(), m.Article.id).limit(limit)
    )]
    _attach_tickers(session, rows)
    return rows


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
