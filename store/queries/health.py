"""Pipeline health reads: dead-letter counts, last success per source, throughput."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import tables as m


def dead_letter_counts(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    """Dead letters per stage and error type since ``since``, most first."""
    d = m.DeadLetterRow
    stmt = (
        select(d.stage, d.error_type, func.count().label("n"), func.max(d.at).label("last"))
        .where(d.at >= since)
        .group_by(d.stage, d.error_type)
        .order_by(func.count().desc(), d.stage)
    )
    return [dict(r._mapping) for r in session.execute(stmt)]


def recent_dead_letters(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    d = m.DeadLetterRow
    stmt = select(d.at, d.stage, d.error_type, d.error, d.source, d.url).order_by(
        d.at.desc(), d.id.desc()).limit(limit)
    return [dict(r._mapping) for r in session.execute(stmt)]


def source_status(session: Session) -> list[dict[str, Any]]:
    """Every ingest source's last attempt, last success and counters."""
    s = m.SourceStatus
    stmt = select(s.name, s.type, s.last_attempt, s.last_success, s.found, s.new,
                  s.duplicate, s.failed, s.not_article, s.last_error, s.last_not_article
                  ).order_by(s.name)
    return [dict(r._mapping) for r in session.execute(stmt)]


def classified_per_model(session: Session, *, recent: int = 2000) -> list[dict[str, Any]]:
    """Which model versions classified the newest ``recent`` stored articles (a bounded read:
    the model mix the stream is using now)."""
    a, p = m.Article, m.Prediction
    newest = select(a.id).order_by(a.published.desc()).limit(recent).subquery()
    stmt = (
        select(p.model_version, func.count().label("n"))
        .join(newest, newest.c.id == p.article_id)
        .group_by(p.model_version)
        .order_by(func.count().desc())
    )
    return [dict(r._mapping) for r in session.execute(stmt)]
