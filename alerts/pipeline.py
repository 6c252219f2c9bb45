"""What happens to the transitions an evaluation produced, as small stages:
group (one per alert per pass) → dedup (idempotent ids) → silence → record (alert row, history)
→ enqueue deliveries (the dispatcher sends them, so delivery never blocks detection)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from alerts.detectors import Observation
from alerts.lifecycle import Transition
from alerts.payloads import alert_event, render, ts
from alerts.rules import Rule
from finpulse.schemas import AlertEvent
from finpulse.settings import AlertSettings, WebhookReceiver
from store.queries import alerts as q

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One transition of one alert, with the observation that caused it."""

    rule: Rule
    key: str
    fingerprint: str
    obs: Observation
    transition: Transition


def group(changes: Iterable[Change]) -> list[Change]:
    """Keep changes in order, but at most one notification per alert and kind in a pass."""
    seen: set[tuple[str, str, int]] = set()
    out = []
    for ch in changes:
        k = (ch.transition.alert_id, ch.transition.kind, ch.transition.seq)
        if k not in seen:
            seen.add(k)
            out.append(ch)
    return out


def webhook_id(alert_id: str, kind: str, seq: int, receiver: str) -> str:
    """Deterministic, so a re-evaluated transition never queues a second delivery."""
    digest = hashlib.sha256(f"{alert_id}|{kind}|{seq}|{receiver}".encode()).hexdigest()[:24]
    return f"msg_{digest}"


def receivers_for(rule: Rule, configured: Sequence[WebhookReceiver]) -> list[WebhookReceiver]:
    if rule.receivers is None:
        return list(configured)
    return [r for r in configured if r.name in rule.receivers]


class Recorder:
    """Records changes in the database and queues their notifications."""

    def __init__(self, sessions: sessionmaker[Session], settings: AlertSettings) -> None:
        self.sessions = sessions
        self.settings = settings

    def record(self, changes: Sequence[Change]) -> list[AlertEvent]:
        """Store every change (idempotently); returns the events to publish."""
        events = []
        with self.sessions.begin() as session:
            for ch in group(changes):
                events.append(self._record_one(session, ch))
        return events

    def _record_one(self, session: Session, ch: Change) -> AlertEvent:
        tr, rule = ch.transition, ch.rule
        ev = alert_event(rule, ch.key, ch.fingerprint, ch.obs, tr, self.settings.dashboard_url)
        payload = ev.model_dump(mode="json", by_alias=True)
        now = ts(tr.at)
        q.upsert_alert(session, {
            "id": tr.alert_id, "fingerprint": ch.fingerprint, "rule": rule.name,
            "scope": rule.scope, "key": ch.key, "state": tr.state, "severity": rule.severity,
            "labels": ev.labels, "value": ev.value, "threshold": ev.threshold, "payload": payload,
            "started_at": ts(tr.started_at), "fired_at": ts(tr.fired_at) if tr.fired_at else None,
            "resolved_at": now if tr.state == "resolved" else None, "updated_at": now,
        })
        if tr.kind != "repeat":
            q.add_history(session, tr.alert_id, tr.state, now, ev.value, payload)
        if tr.notify and not self._silenced(session, rule, ch.key, now):
            self._enqueue(session, ev, tr, rule, now)
        log.info("alert %s %s: %s key=%s value=%.4g", tr.alert_id, tr.kind, rule.name, ch.key, ev.value)
        return ev

    def _silenced(self, session: Session, rule: Rule, key: str, now: datetime) -> bool:
        s = q.active_silence(session, rule.name, key, now)
        if s is not None:
            log.info("silenced: %s key=%s until %s (%s)", rule.name, key, s.until, s.reason)
        return s is not None

    def _enqueue(self, session: Session, ev: AlertEvent, tr: Transition, rule: Rule, now: datetime) -> None:
        for r in receivers_for(rule, self.settings.receivers):
            body = render(ev, r.format, receiver=r.name, external_url=self.settings.dashboard_url,
                          started_at=ts(tr.started_at))
            q.create_delivery(session, {
                "webhook_id": webhook_id(tr.alert_id, tr.kind, tr.seq, r.name),
                "alert_id": tr.alert_id, "event": tr.state, "receiver": r.name, "url": r.url,
                "format": r.format, "status": "pending", "attempts": 0, "payload": body,
                "created_at": now, "next_attempt_at": now, "delivered_at": None,
            })
