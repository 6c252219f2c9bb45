"""Shadow predictions: the rows ``finpulse shadow`` writes, and what the dashboard, the CLI and
the shadow period read from them.

A comparison covers one ``Pair``: a challenger against one champion, from a start time (a
shadow run's ``started_at``). Rows of other champions (articles classified before a hot swap)
are kept but not counted. Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from finpulse.schemas import ClassifiedArticle, Prediction
from store import tables as m
from store.queries import model_versions
from store.upsert import upsert

TASKS = ("topic", "sentiment")
SP = m.ShadowPrediction


@dataclass(frozen=True)
class Pair:
    """Which rows one comparison covers."""

    challenger: str
    champion: str
    since: datetime | None = None

    @classmethod
    def of(cls, run: m.ShadowRun) -> Pair:
        return cls(run.version, run.champion, run.started_at)


def _rows_of(stmt: Select, pair: Pair) -> Select:
    stmt = stmt.where(SP.challenger_version == pair.challenger, SP.champion_version == pair.champion)
    return stmt.where(SP.scored_at >= pair.since) if pair.since is not None else stmt


def shadow_row(msg: ClassifiedArticle, challenger: Prediction, now: datetime) -> dict[str, Any]:
    """The row for one article: the champion's prediction from the message, the challenger's."""
    champ, a = msg.prediction, msg.article
    return {
        "challenger_version": challenger.model_version, "article_id": a.id,
        "title": a.title or a.content[:500], "champion_version": champ.model_version,
        "champion_topic": champ.topic, "champion_topic_confidence": champ.topic_confidence,
        "champion_sentiment": champ.sentiment,
        "champion_sentiment_confidence": champ.sentiment_confidence,
        "challenger_topic": challenger.topic, "challenger_topic_confidence": challenger.topic_confidence,
        "challenger_sentiment": challenger.sentiment,
        "challenger_sentiment_confidence": challenger.sentiment_confidence,
        "scored_at": now,
    }


def write_shadow(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Upsert rows keyed by (challenger version, article id): replaying writes nothing twice
    (the last row of a key in ``rows`` wins). Returns how many keys were written."""
    latest = {(r["challenger_version"], r["article_id"]): r for r in rows}
    upsert(session, SP.__table__, list(latest.values()), keys=["challenger_version", "article_id"])
    return len(latest)


def scored(session: Session, pair: Pair) -> int:
    return int(session.execute(_rows_of(select(func.count()).select_from(SP), pair)).scalar_one())


def agreement(session: Session, pair: Pair) -> dict[str, Any]:
    """``{"n": rows, "topic": share, "sentiment": share, "both": share}`` (shares None at n=0)."""
    same = {t: func.sum(case((getattr(SP, f"champion_{t}") == getattr(SP, f"challenger_{t}"), 1),
                             else_=0)) for t in TASKS}
    both = func.sum(case((((SP.champion_topic == SP.challenger_topic)
                           & (SP.champion_sentiment == SP.challenger_sentiment)), 1), else_=0))
    row = session.execute(_rows_of(select(func.count(), same["topic"], same["sentiment"], both), pair)).one()
    n = int(row[0])
    shares = [None if n == 0 else int(x or 0) / n for x in row[1:]]
    return {"n": n, **dict(zip((*TASKS, "both"), shares, strict=True))}


def confusion(session: Session, pair: Pair, task: str) -> list[dict[str, Any]]:
    """Counts per (champion label, challenger label) for ``task``, most frequent first."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    champ, chall = getattr(SP, f"champion_{task}"), getattr(SP, f"challenger_{task}")
    stmt = _rows_of(select(champ.label("champion"), chall.label("challenger"), func.count().label("n")),
                    pair).group_by(champ, chall).order_by(func.count().desc(), champ, chall)
    return [dict(r._mapping) for r in session.execute(stmt)]


DISAGREEMENT_COLUMNS = ("scored_at", "title", "champion_topic", "challenger_topic",
                        "champion_topic_confidence", "challenger_topic_confidence",
                        "champion_sentiment", "challenger_sentiment",
                        "champion_sentiment_confidence", "challenger_sentiment_confidence",
                        "article_id")


def disagreements(session: Session, pair: Pair, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest articles on which the two models differ on topic or sentiment."""
    differ = or_(SP.champion_topic != SP.challenger_topic, SP.champion_sentiment != SP.challenger_sentiment)
    stmt = _rows_of(select(*(getattr(SP, c) for c in DISAGREEMENT_COLUMNS)), pair).where(differ)
    stmt = stmt.order_by(SP.scored_at.desc(), SP.article_id).limit(limit)
    return [dict(r._mapping) for r in session.execute(stmt)]


def shadow_status(session: Session, *, min_minutes: float, min_articles: int, now: datetime
                  ) -> dict[str, Any] | None:
    """The open shadow run with its progress through the shadow period; None when none is open.

    ``due``: the run is to be promoted automatically, has lasted ``min_minutes`` AND scored
    ``min_articles`` articles against its champion, and that champion still serves."""
    run = model_versions.shadow_run(session)
    if run is None:
        return None
    n = scored(session, Pair.of(run))
    minutes = max(0.0, (now - run.started_at).total_seconds() / 60)
    over = minutes >= min_minutes and n >= min_articles
    return {"version": run.version, "champion": run.champion, "started_at": run.started_at,
            "started_by": run.started_by, "promote_after": run.promote_after, "scored": n,
            "minutes": minutes, "min_minutes": min_minutes, "min_articles": min_articles,
            "period_over": over,
            "due": run.promote_after and over and model_versions.champion_version(session) == run.champion}


RUN_COLUMNS = ("version", "champion", "promote_after", "started_at", "started_by", "ended_at",
               "outcome", "notes")


def run_history(session: Session, *, version: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """Shadow runs as plain rows, newest first."""
    return [{c: getattr(r, c) for c in RUN_COLUMNS}
            for r in model_versions.shadow_runs(session, version=version, limit=limit)]
