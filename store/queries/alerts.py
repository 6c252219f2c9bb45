"""Queries for alerts: alerts and their history, silences, webhook deliveries and their
attempts, and the stored classified history that backtests replay. Every function takes the
caller's Session and never commits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from finpulse.schemas import Article, ClassifiedArticle, Prediction
from store import tables as m
from store.upsert import upsert

ALERT_COLUMNS = ("id", "fingerprint", "rule", "scope", "key", "state", "severity", "labels",
                 "value", "threshold", "payload", "started_at", "fired_at", "resolved_at",
                 "updated_at")


def upsert_alert(session: Session, row: dict[str, Any]) -> None:
    """Insert or update one alert by id (fired_at/resolved_at are only ever set, never cleared)."""
    row = {c: row.get(c) for c in ALERT_COLUMNS}
    keep = {c for c in ("fired_at", "resolved_at") if row[c] is None}
    upsert(session, m.Alert.__table__, [row], keys=["id"],
           update=[c for c in ALERT_COLUMNS if c != "id" and c not in keep])


def add_history(session: Session, alert_id: str, state: str, at: datetime, value: float,
                payload: dict[str, Any]) -> bool:
    """Record a state change once: False when this alert already has a row for ``state``."""
    exists = session.scalar(select(m.AlertHistory.id).where(
        m.AlertHistory.alert_id == alert_id, m.AlertHistory.state == state))
    if exists is not None:
        return False
    session.add(m.AlertHistory(alert_id=alert_id, state=state, at=at, value=value, payload=payload))
    session.flush()
    return True


def get_alert(session: Session, alert_id: str) -> m.Alert | None:
    return session.get(m.Alert, alert_id)


def alerts(session: Session, *, state: str | None = None, limit: int = 100) -> list[m.Alert]:
    q = select(m.Alert).order_by(m.Alert.updated_at.desc()).limit(limit)
    if state:
        q = q.where(m.Alert.state == state)
    return list(session.scalars(q))


def history(session: Session, alert_id: str) -> list[m.AlertHistory]:
    return list(session.scalars(select(m.AlertHistory).where(m.AlertHistory.alert_id == alert_id)
                                .order_by(m.AlertHistory.at, m.AlertHistory.id)))


def add_silence(session: Session, *, rule: str | None, key: str | None, until: datetime,
                created_by: str, reason: str, now: datetime) -> int:
    s = m.Silence(rule=rule, key=key, until=until, created_by=created_by, reason=reason, created_at=now)
    session.add(s)
    session.flush()
    return s.id


def active_silence(session: Session, rule: str, key: str, now: datetime) -> m.Silence | None:
    """A silence covering (rule, key) at ``now``; a null rule or key matches any."""
    return session.scalars(select(m.Silence).where(
        m.Silence.until > now,
        or_(m.Silence.rule.is_(None), m.Silence.rule == rule),
        or_(m.Silence.key.is_(None), m.Silence.key == key),
    ).limit(1)).first()


def create_delivery(session: Session, row: dict[str, Any]) -> bool:
    """Queue one delivery; nothing happens if its webhook_id is already queued."""
    before = session.scalar(select(m.WebhookDelivery.id).where(
        m.WebhookDelivery.webhook_id == row["webhook_id"]))
    if before is not None:
        return False
    upsert(session, m.WebhookDelivery.__table__, [row], keys=["webhook_id"], update=[])
    return True


def due_deliveries(session: Session, now: datetime, limit: int = 20) -> list[m.WebhookDelivery]:
    """Pending deliveries whose next attempt is due, each only once every older notification
    of the same alert rule and key (its fingerprint) to the same receiver is settled: a
    receiver hears 'firing' before 'resolved' even when both waited out an outage, since each
    delivery backs off on its own schedule."""
    d, older, a, a_older = (m.WebhookDelivery, aliased(m.WebhookDelivery), aliased(m.Alert),
                            aliased(m.Alert))
    blocked = (select(older.id).join(a_older, a_older.id == older.alert_id)
               .where(older.receiver == d.receiver, older.status == "pending", older.id < d.id,
                      a_older.fingerprint == a.fingerprint)
               .exists())
    return list(session.scalars(
        select(d).join(a, a.id == d.alert_id).where(
            d.status == "pending",
            or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
            ~blocked,
        ).order_by(d.next_attempt_at, d.id).limit(limit)))


def claim_delivery(session: Session, delivery: m.WebhookDelivery, lease_until: datetime) -> bool:
    """Take ``delivery`` for one attempt (so two dispatchers never send it at once)."""
    cond = (m.WebhookDelivery.next_attempt_at.is_(None) if delivery.next_attempt_at is None
            else m.WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
    res = session.execute(update(m.WebhookDelivery).where(and_(
        m.WebhookDelivery.id == delivery.id, m.WebhookDelivery.status == "pending", cond,
    )).values(next_attempt_at=lease_until))
    return res.rowcount == 1


def record_attempt(session: Session, delivery_id: int, *, at: datetime, status_code: int | None,
                   latency_ms: float | None, error: str | None, outcome: str,
                   next_attempt_at: datetime | None, dead: bool) -> int:
    """Log one attempt and move the delivery on: delivered, pending again, or dead."""
    d = session.get(m.WebhookDelivery, delivery_id)
    assert d is not None, f"no delivery {delivery_id}"
    d.attempts += 1
    session.add(m.DeliveryAttempt(delivery_id=delivery_id, attempt=d.attempts, at=at,
                                  status_code=status_code, latency_ms=latency_ms, error=error))
    if outcome == "delivered":
        d.status, d.delivered_at, d.next_attempt_at = "delivered", at, None
    elif dead:
        d.status, d.next_attempt_at = "dead", None
    else:
        d.status, d.next_attempt_at = "pending", next_attempt_at
    session.flush()
    return d.attempts


def deliveries_for_alert(session: Session, alert_id: str) -> list[m.WebhookDelivery]:
    return list(session.scalars(select(m.WebhookDelivery).where(
        m.WebhookDelivery.alert_id == alert_id).order_by(m.WebhookDelivery.id)))


def attempts_for(session: Session, delivery_id: int) -> list[m.DeliveryAttempt]:
    return list(session.scalars(select(m.DeliveryAttempt).where(
        m.DeliveryAttempt.delivery_id == delivery_id).order_by(m.DeliveryAttempt.attempt)))


def classified_history(session: Session, since: datetime | None = None,
                       until: datetime | None = None, batch: int = 2000) -> Iterator[ClassifiedArticle]:
    """Stored articles with their current prediction, oldest first, as ``ClassifiedArticle``."""
    q = (select(m.Article, m.Prediction).join(m.Prediction, m.Prediction.article_id == m.Article.id)
         .order_by(m.Article.published, m.Article.id))
    if since is not None:
        q = q.where(m.Article.published >= since)
    if until is not None:
        q = q.where(m.Article.published < until)
    for chunk in session.execute(q.execution_options(yield_per=batch)).partitions():
        ids = [a.id for a, _ in chunk]
        tickers: dict[str, list[str]] = {}
        for aid, t in session.execute(select(m.ArticleTicker.article_id, m.ArticleTicker.ticker)
                                      .where(m.ArticleTicker.article_id.in_(ids))):
            tickers.setdefault(aid, []).append(t)
        for a, p in chunk:
            yield _classified(a, p, sorted(tickers.get(a.id, [])))


def _classified(a: m.Article, p: m.Prediction, tickers: list[str]) -> ClassifiedArticle:
    article = Article(id=a.id, source=a.source, url=a.url, title=a.title, text="",
                      published=a.published, fetched=a.fetched, language=a.language,
                      tickers=tickers, author=a.author, duplicate_of=a.duplicate_of)
    pred = Prediction(topic=p.topic, topic_id=p.topic_id, topic_confidence=p.topic_confidence,
                      topic_probs=p.topic_probs, sentiment=p.sentiment,
                      sentiment_confidence=p.sentiment_confidence, sentiment_probs=p.sentiment_probs,
                      sentiment_score=p.sentiment_score, model_version=p.model_version,
                      latency_ms=p.latency_ms, classified_at=p.classified_at)
    return ClassifiedArticle(article=article, prediction=pred, tickers=tickers)
