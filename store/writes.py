"""Idempotent writes of classified articles: upserts keyed by article id, plus rollups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from finpulse.messages import clip
from finpulse.schemas import ClassifiedArticle, DeadLetter
from store import tables as m
from store.rollups import Contribution, RollupDeltas
from store.upsert import upsert


def contribution_of(msg: ClassifiedArticle) -> Contribution:
    a, p = msg.article, msg.prediction
    return Contribution(
        published=a.published,
        source=a.source,
        topic=p.topic,
        sentiment=p.sentiment,
        score=round(p.sentiment_score, 6),
        novel=a.duplicate_of is None,
        tickers=frozenset(msg.tickers or a.tickers),
    )


def stored_contributions(
    session: Session, ids: Sequence[str]
) -> dict[str, tuple[Contribution, str]]:
    """What the articles ``ids`` already contribute to the rollups, with the model version
    that classified them (absent: not stored)."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            m.Article.id, m.Article.published, m.Article.source, m.Article.duplicate_of,
            m.Prediction.topic, m.Prediction.sentiment, m.Prediction.sentiment_score,
            m.Prediction.model_version,
        )
        .join(m.Prediction, m.Prediction.article_id == m.Article.id)
        .where(m.Article.id.in_(ids))
    ).all()
    tickers: dict[str, set[str]] = {}
    for aid, ticker in session.execute(
        select(m.ArticleTicker.article_id, m.ArticleTicker.ticker).where(
            m.ArticleTicker.article_id.in_(ids)
        )
    ):
        tickers.setdefault(aid, set()).add(ticker)
    return {
        r.id: (
            Contribution(
                published=r.published, source=r.source, topic=r.topic, sentiment=r.sentiment,
                score=round(r.sentiment_score, 6), novel=r.duplicate_of is None,
                tickers=frozenset(tickers.get(r.id, ())),
            ),
            r.model_version,
        )
        for r in rows
    }


def write_classified(session: Session, messages: Iterable[ClassifiedArticle], now: datetime) -> int:
    """Upsert articles, predictions and tickers, and move rollup contributions. Replaying the
    same messages changes nothing. Returns how many articles changed."""
    latest = {msg.article.id: msg for msg in messages}  # last one wins within a batch
    old = stored_contributions(session, list(latest))
    deltas = RollupDeltas()
    changed = {}
    for aid, msg in latest.items():
        new = contribution_of(msg)
        prev, prev_version = old.get(aid, (None, None))
        if prev == new and prev_version == msg.prediction.model_version:
            continue  # a replay: nothing to change
        if prev is not None:
            deltas.add(prev, -1)
        deltas.add(new, +1)
        changed[aid] = msg
    if not changed:
        return 0
    upsert(session, m.Article.__table__, [_article_row(x, now) for x in changed.values()],
           keys=["id"])
    upsert(session, m.Prediction.__table__, [_prediction_row(x) for x in changed.values()],
           keys=["article_id"])
    session.execute(delete(m.ArticleTicker).where(m.ArticleTicker.article_id.in_(list(changed))))
    ticker_rows = [  # published is copied in: a ticker filter reads one index range
        {"article_id": aid, "ticker": t, "published": x.article.published}
        for aid, x in changed.items() for t in sorted(set(x.tickers or x.article.tickers))
    ]
    upsert(session, m.ArticleTicker.__table__, ticker_rows, keys=["article_id", "ticker"],
           update=[])
    deltas.write(session)
    return len(changed)


def _article_row(msg: ClassifiedArticle, now: datetime) -> dict:
    a = msg.article
    return {
        "id": a.id, "source": a.source, "url": a.url, "title": a.title, "text": a.text,
        "published": a.published, "published_precision": a.published_precision,
        "fetched": a.fetched, "language": a.language,
        "author": a.author, "duplicate_of": a.duplicate_of, "stored_at": now,
    }


def _prediction_row(msg: ClassifiedArticle) -> dict:
    p = msg.prediction
    return {"article_id": msg.article.id, **p.model_dump(mode="python")}


def write_dead_letter(
    session: Session, letter: DeadLetter | None, *, partition: int, offset: int,
    undecodable: str | None = None,
) -> None:
    """Record one ``news.dlq`` message (idempotent on its DLQ position)."""
    # Clipped to the columns: a letter from another writer may be longer than ours are.
    row = {
        "dlq_partition": partition,
        "dlq_offset": offset,
        "stage": _clip(letter.stage if letter else "unknown", 64),
        "error": _clip(letter.error if letter else f"undecodable dead letter: {undecodable}", 8192),
        "error_type": _clip(letter.error_type if letter else "ContractError", 200),
        "topic": _clip(letter.topic if letter else None, 200),
        "source": _clip(letter.source if letter else None, 200),
        "url": _clip(letter.url if letter else None, 8192),
        "at": letter.at if letter else datetime.now().astimezone(),
    }
    upsert(session, m.DeadLetterRow.__table__, [row], keys=["dlq_partition", "dlq_offset"],
           update=[])


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else clip(text, limit)
