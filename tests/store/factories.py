"""Builders of realistic classified messages for store, alert and dashboard tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from finpulse.schemas import (
    SENTIMENTS,
    TOPICS,
    Article,
    ClassifiedArticle,
    Prediction,
    article_id_for_source,
)


def classified(i: int, *, published: datetime | None = None, topic_id: int | None = None,
               sentiment: str | None = None, source: str = "wire", tickers: list[str] | None = None,
               model_version: str = "v1", duplicate_of: str | None = None,
               rng: random.Random | None = None) -> ClassifiedArticle:
    rng = rng or random.Random(i)
    topic_id = rng.randrange(len(TOPICS)) if topic_id is None else topic_id
    sentiment = sentiment or rng.choice(SENTIMENTS)
    probs = [0.1, 0.1, 0.1]
    probs[SENTIMENTS.index(sentiment)] = 0.8
    now = datetime.now(UTC)
    published = published or now - timedelta(minutes=rng.randrange(600))
    article = Article(
        id=article_id_for_source(source, str(i)), source=source, url=f"https://news.test/{i}",
        title=f"Headline {i} about {TOPICS[topic_id]}", text=f"Body of story {i}.",
        published=published, fetched=now, language="en", tickers=tickers or [],
        duplicate_of=duplicate_of,
    )
    topic_probs = [0.2 / 19] * 20
    topic_probs[topic_id] = 0.8
    prediction = Prediction(
        topic=TOPICS[topic_id], topic_id=topic_id, topic_confidence=0.8, topic_probs=topic_probs,
        sentiment=sentiment, sentiment_confidence=0.8, sentiment_probs=probs,
        sentiment_score=round(probs[1] - probs[0], 6), model_version=model_version,
        latency_ms=2.0, classified_at=now,
    )
    return ClassifiedArticle(article=article, prediction=prediction, tickers=tickers or [])
