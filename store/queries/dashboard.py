"""Dashboard reads and the few writes analysts make: alerts (list, detail, acknowledge,
silence) and model versions (list, champion, history).

Query functions take the caller's ``Session`` and never commit: the page owns
``with sessions.begin():``. Model promotion and silences are delegated to their owners'
query functions (``store/queries/model_versions.py``, ``store/queries/alerts.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from finpulse.errors import PermanentError
from store import tables as m
from store.queries import alerts
from store.queries import model_versions as registry_rows

ALERT_STATES = ("pending", "firing", "resolved")


def _row(obj: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in columns}


ALERT_COLUMNS = ("id", "rule", "scope", "key", "state", "severity", "value", "threshold",
                 "started_at", "fired_at", "resolved_at", "updated_at", "acked_by", "acked_at")


def latest_alerts(
    session: Session, *, limit: int = 10, states: Sequence[str] = (),
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """The most recently started alerts (optionally only in ``states``), newest first."""
    a = m.Alert
    stmt = select(a).order_by(a.started_at.desc(), a.id).limit(limit)
    if states:
        stmt = stmt.where(a.state.in_(list(states)))
    if since is not None:
        stmt = stmt.where(a.started_at >= since)
    return [_row(x, ALERT_COLUMNS) for x in session.scalars(stmt)]


def alerts_for(
    session: Session, *, scope: str, key: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Alerts on one scope key that started in ``[start, end)`` (for marking a chart)."""
    a = m.Alert
    stmt = (
        select(a)
        .where(a.scope == scope, a.key == key, a.started_at >= start, a.started_at < end)
        .order_by(a.started_at)
    )
    return [_row(x, ALERT_COLUMNS) for x in session.scalars(stmt)]


def alert_detail(session: Session, alert_id: str) -> dict[str, Any] | None:
    """One alert with its payload, history, and webhook deliveries with their attempts."""
    alert = session.get(m.Alert, alert_id)
    if alert is None:
        return None
    out = _row(alert, ALERT_COLUMNS) | {"payload": alert.payload, "labels": alert.labels}
    h = m.AlertHistory
    out["history"] = [
        {"state": x.state, "at": x.at, "value": x.value}
        for x in session.scalars(select(h).where(h.alert_id == alert_id).order_by(h.at, h.id))
    ]
    d, t = m.WebhookDelivery, m.DeliveryAttempt
    deliveries = list(session.scalars(
        select(d).where(d.alert_id == alert_id).order_by(d.created_at, d.id)
    ))
    attempts: dict[int, list[dict[str, Any]]] = {}
    if deliveries:
        for x in session.scalars(
            select(t).where(t.delivery_id.in_([x.id for x in deliveries]))
            .order_by(t.delivery_id, t.attempt)
        ):
            attempts.setdefault(x.delivery_id, []).append(_row(
                x, ("attempt", "at", "status_code", "latency_ms", "error")))
    out["deliveries"] = [
        _row(x, ("id", "webhook_id", "event", "receiver", "url", "status", "attempts",
                 "created_at", "next_attempt_at", "delivered_at"))
        | {"attempt_log": attempts.get(x.id, [])}
        for x in deliveries
    ]
    return out


def acknowledge(session: Session, alert_id: str, *, by: str, at: datetime) -> None:
    """Mark an alert acknowledged by ``by``; raises PermanentError for an unknown id."""
    result = session.execute(
        update(m.Alert).where(m.Alert.id == alert_id).values(acked_by=by, acked_at=at)
    )
    if result.rowcount == 0:
        raise PermanentError(f"no alert with id {alert_id!r} to acknowledge")


def silence(
    session: Session, *, rule: str | None, key: str | None, duration: timedelta, by: str,
    reason: str, now: datetime,
) -> int:
    """Silence ``rule`` on ``key`` (None: any) until ``now + duration``; returns its id."""
    if duration <= timedelta(0):
        raise ValueError(f"silence duration must be positive, got {duration}")
    return alerts.add_silence(session, rule=rule, key=key, until=now + duration, created_by=by,
                              reason=reason, now=now)


def active_silences(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    s = m.Silence
    return [
        _row(x, ("id", "rule", "key", "until", "created_by", "reason", "created_at"))
        for x in session.scalars(select(s).where(s.until > now).order_by(s.until))
    ]


def expire_silence(session: Session, silence_id: int, *, now: datetime) -> None:
    session.execute(update(m.Silence).where(m.Silence.id == silence_id).values(until=now))


MODEL_COLUMNS = ("version", "path", "base_model", "created_at", "metrics", "is_champion",
                 "status", "notes")
PROMOTION_COLUMNS = ("version", "previous", "action", "at", "by")


def model_versions(session: Session) -> list[dict[str, Any]]:
    """Registered model versions, newest first (as plain rows for the page)."""
    return [_row(x, MODEL_COLUMNS) for x in registry_rows.list_versions(session)]


def champion(session: Session) -> dict[str, Any] | None:
    x = registry_rows.champion(session)
    return _row(x, MODEL_COLUMNS) if x else None


def promotions(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    """Changes of champion, newest first."""
    return [_row(x, PROMOTION_COLUMNS) for x in reversed(registry_rows.promotions(session))][:limit]


def rollback_target(session: Session) -> str | None:
    """The version a rollback would reinstate (None: nothing to roll back to)."""
    stack, current = registry_rows.champion_stack(session), registry_rows.champion_version(session)
    return stack[-2] if len(stack) >= 2 and stack[-1] == current else None
