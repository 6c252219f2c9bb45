"""The labeling queue: which stories an analyst should label next, and saving their labels.

Order: stories behind alerts first (they decide what analysts are told), then the least
confident prediction first (where a label teaches the model most). Candidates are bounded to a
recent publication window so the queue stays fast as history grows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, exists, func, select
from sqlalchemy.orm import Session

from finpulse.schemas import SENTIMENTS, TOPICS
from store import tables as m
from store.queries.articles import unindexed
from store.upsert import upsert

TASKS = ("topic", "sentiment")


@dataclass(frozen=True)
class QueueItem:
    article_id: str
    title: str
    text: str
    url: str | None
    source: str
    published: datetime
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_confidence: float
    boosted: bool


def _confidence():  # a SQL expression
    p = m.Prediction
    return case((p.topic_confidence < p.sentiment_confidence, p.topic_confidence),
                else_=p.sentiment_confidence)


def _candidates(since: datetime, exclude: Collection[str], pool: int | None = None,
                dialect: str = "postgresql"):
    """Unlabeled, non-duplicate stories published since ``since``; with ``pool``, only the
    newest ``pool`` of them (an index walk, so the queue stays fast on a busy week)."""
    a, p, lab = m.Article, m.Prediction, m.Label
    ids = (
        select(a.id)
        .where(a.published >= since, unindexed(a.duplicate_of, dialect).is_(None))
        .where(~exists().where(lab.article_id == a.id))
    )
    if exclude:
        ids = ids.where(a.id.not_in(list(exclude)))
    if pool is not None:
        ids = ids.order_by(a.published.desc()).limit(pool)
    ids = ids.subquery()
    return (
        select(a.id, a.title, a.text, a.url, a.source, a.published, p.topic,
               p.topic_confidence, p.sentiment, p.sentiment_confidence)
        .join(ids, ids.c.id == a.id)
        .join(p, p.article_id == a.id)
    )


def alert_evidence_ids(session: Session, *, since: datetime) -> list[str]:
    """Article ids cited as evidence by alerts started since ``since``."""
    ids: list[str] = []
    for payload in session.scalars(
        select(m.Alert.payload).where(m.Alert.started_at >= since)
    ):
        for ev in (payload or {}).get("evidence", []) or []:
            if isinstance(ev, dict) and ev.get("article_id"):
                ids.append(str(ev["article_id"]))
    return list(dict.fromkeys(ids))


def queue(
    session: Session, *, since: datetime, limit: int = 20, exclude: Collection[str] = (),
    pool: int = 5000,
) -> list[QueueItem]:
    """The next stories to label (unlabeled, not duplicates, not in ``exclude``): alert
    evidence first, then the least confident of the newest ``pool`` candidates."""
    dialect = session.get_bind().dialect.name
    boosted_ids = [i for i in alert_evidence_ids(session, since=since) if i not in exclude]
    items: list[QueueItem] = []
    if boosted_ids:
        stmt = _candidates(since, exclude, dialect=dialect).where(
            m.Article.id.in_(boosted_ids))
        items += [QueueItem(*r, boosted=True) for r in session.execute(
            stmt.order_by(_confidence(), m.Article.id).limit(limit))]
    if len(items) < limit:
        taken = set(exclude) | {i.article_id for i in items}
        stmt = _candidates(since, taken, pool, dialect).order_by(_confidence(), m.Article.id)
        items += [QueueItem(*r, boosted=False) for r in session.execute(
            stmt.limit(limit - len(items)))]
    return items


def save_labels(
    session: Session, article_id: str, *, topic: str | None, sentiment: str | None, by: str,
    at: datetime, text: str = "",
) -> list[tuple[str, str]]:
    """Store ``by``'s topic and/or sentiment label for one article (a correction replaces the
    earlier one). Returns the (article_id, task) pairs written, for undo."""
    if not by.strip():
        raise ValueError("a label needs the analyst's name (labeled_by is empty)")
    rows = []
    if topic is not None:
        rows.append({"task": "topic", "label": _index(TOPICS, topic, "topic")})
    if sentiment is not None:
        rows.append({"task": "sentiment", "label": _index(SENTIMENTS, sentiment, "sentiment")})
    full = [r | {"article_id": article_id, "labeled_by": by, "labeled_at": at, "text": text}
            for r in rows]
    upsert(session, m.Label.__table__, full, keys=["article_id", "task", "labeled_by"],
           update=["label", "labeled_at", "text"])
    return [(article_id, r["task"]) for r in rows]


def _index(names: tuple[str, ...], value: str, what: str) -> int:
    try:
        return names.index(value)
    except ValueError as exc:
        raise ValueError(f"unknown {what} label {value!r}") from exc


def undo_labels(session: Session, written: Iterable[tuple[str, str]], *, by: str) -> int:
    """Delete the labels ``by`` wrote for these (article_id, task) pairs; returns how many."""
    n = 0
    lab = m.Label
    for article_id, task in written:
        n += session.execute(delete(lab).where(
            lab.article_id == article_id, lab.task == task, lab.labeled_by == by)).rowcount
    return n


def labels_since(session: Session, since: datetime | None) -> int:
    """How many labels were saved after ``since`` (all of them when None)."""
    stmt = select(func.count()).select_from(m.Label)
    if since is not None:
        stmt = stmt.where(m.Label.labeled_at > since)
    return int(session.execute(stmt).scalar_one())


def retraining_progress(session: Session, *, every: int) -> dict[str, Any]:
    """Labels saved since the newest model version was registered, against ``every``."""
    newest = session.execute(select(func.max(m.ModelVersion.created_at))).scalar_one_or_none()
    done = labels_since(session, newest)
    return {"since": newest, "labels": done, "every": every,
            "fraction": min(1.0, done / every) if every > 0 else 1.0}


def recent_labels(session: Session, *, by: str | None = None, limit: int = 20) -> list[dict]:
    lab, a = m.Label, m.Article
    stmt = (
        select(lab.article_id, a.title, lab.task, lab.label, lab.labeled_by, lab.labeled_at)
        .join(a, a.id == lab.article_id)
        .order_by(lab.labeled_at.desc(), lab.id.desc())
        .limit(limit)
    )
    if by:
        stmt = stmt.where(lab.labeled_by == by)
    out = []
    for r in session.execute(stmt):
        d = dict(r._mapping)
        d["label"] = (TOPICS if d["task"] == "topic" else SENTIMENTS)[d["label"]]
        out.append(d)
    return out
