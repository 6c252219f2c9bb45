"""Synthetic classified articles for the alerts tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from finpulse.schemas import TOPICS, Article, ClassifiedArticle, Prediction

_ids = itertools.count()
PROBS = {"bearish": [0.9, 0.05, 0.05], "bullish": [0.05, 0.9, 0.05], "neutral": [0.05, 0.05, 0.9]}


def classified(*, sentiment: str = "neutral", tickers: tuple[str, ...] = (), topic: str = "Markets",
               source: str = "wire", published: datetime | None = None, duplicate_of: str | None = None,
               confidence: float = 0.9, title: str | None = None, model_version: str = "v-test",
               article_id: str | None = None) -> ClassifiedArticle:
    n = next(_ids)
    aid = article_id or f"art{n:010d}x"
    when = published or datetime.now(UTC)
    probs = PROBS[sentiment]
    article = Article(id=aid, source=source, url=f"https://news.example/{aid}",
                      title=title or f"{sentiment} story {n} on {','.join(tickers) or 'markets'}",
                      published=when, fetched=when, tickers=list(tickers), duplicate_of=duplicate_of)
    pred = Prediction(topic=topic, topic_id=TOPICS.index(topic), topic_confidence=0.9,
                      topic_probs=[1 / len(TOPICS)] * len(TOPICS), sentiment=sentiment,
                      sentiment_confidence=confidence, sentiment_probs=probs,
                      sentiment_score=probs[1] - probs[0], model_version=model_version,
                      latency_ms=1.0, classified_at=when)
    return ClassifiedArticle(article=article, prediction=pred, tickers=list(tickers))
