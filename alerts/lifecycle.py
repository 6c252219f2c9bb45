"""Alert lifecycle, as in Prometheus/Alertmanager: inactive → pending (condition holds) →
firing (held for ``for``) → resolved (condition cleared past the hysteresis bound); a firing
alert is re-announced every ``repeat_interval``. Pure: state in, state and transitions out."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from alerts.detectors import Observation
from alerts.rules import Rule

Kind = Literal["pending", "firing", "repeat", "resolved", "cancelled"]


@dataclass(frozen=True)
class AlertState:
    rule: str
    key: str
    fingerprint: str
    state: Literal["inactive", "pending", "firing"] = "inactive"
    alert_id: str | None = None
    active_since: float | None = None
    fired_at: float | None = None
    last_notified: float | None = None
    notify_seq: int = 0
    partition: int = 0
    first_seen: float | None = None  # earliest article counted: no baseline before it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        return cls(**data)


@dataclass(frozen=True)
class Transition:
    """A change worth recording. ``notify``: receivers hear about it; ``state``: the alert
    state it leaves behind (pending, firing or resolved)."""

    kind: Kind
    alert_id: str
    at: float
    seq: int
    started_at: float
    fired_at: float | None

    @property
    def state(self) -> str:
        return {"repeat": "firing", "cancelled": "resolved"}.get(self.kind, self.kind)

    @property
    def notify(self) -> bool:
        return self.kind in ("firing", "repeat", "resolved")


def alert_id_for(fp: str, since: float) -> str:
    return hashlib.sha256(f"{fp}@{since:.3f}".encode()).hexdigest()[:32]


def step(rule: Rule, st: AlertState, obs: Observation, now: float) -> tuple[AlertState, list[Transition]]:
    """Advance one alert by one evaluation at ``now``."""
    if st.state == "inactive":
        if not obs.breached(rule):
            return st, []
        aid = alert_id_for(st.fingerprint, now)
        st = replace(st, state="pending", alert_id=aid, active_since=now, fired_at=None)
        out = [_t(st, "pending", now)]
        st2, more = _maybe_fire(rule, st, now)
        return st2, out + more
    if st.state == "pending":
        if not obs.breached(rule):
            return _inactive(st), [_t(st, "cancelled", now)]
        return _maybe_fire(rule, st, now)
    # firing
    if not obs.still_breached(rule):
        return _inactive(st), [_t(st, "resolved", now)]
    last = st.last_notified if st.last_notified is not None else now
    if rule.repeat_interval and now - last >= rule.repeat_interval:
        st = replace(st, last_notified=now, notify_seq=st.notify_seq + 1)
        return st, [_t(st, "repeat", now)]
    return st, []


def _maybe_fire(rule: Rule, st: AlertState, now: float) -> tuple[AlertState, list[Transition]]:
    since = st.active_since if st.active_since is not None else now
    if now - since < rule.for_:
        return st, []
    st = replace(st, state="firing", fired_at=now, last_notified=now, notify_seq=0)
    return st, [_t(st, "firing", now)]


def _inactive(st: AlertState) -> AlertState:
    return replace(st, state="inactive", alert_id=None, active_since=None, fired_at=None,
                   last_notified=None, notify_seq=0)


def _t(st: AlertState, kind: Kind, now: float) -> Transition:
    assert st.alert_id is not None and st.active_since is not None
    return Transition(kind=kind, alert_id=st.alert_id, at=now, seq=st.notify_seq,
                      started_at=st.active_since, fired_at=st.fired_at)
