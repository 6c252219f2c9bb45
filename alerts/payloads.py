"""The explainable alert (``AlertEvent``) and its three wire formats: finpulse JSON, Slack
incoming-webhook and Prometheus Alertmanager webhook (version 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from alerts.detectors import Observation
from alerts.durations import format_duration
from alerts.lifecycle import Transition
from alerts.rules import Rule
from finpulse.schemas import AlertEvent, Evidence


def ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def dashboard_link(base: str, rule: Rule, key: str) -> str:
    return f"{base.rstrip('/')}/?page=alerts&rule={quote(rule.name)}&scope={rule.scope}&key={quote(key)}"


def alert_event(rule: Rule, key: str, fp: str, obs: Observation, tr: Transition,
                dashboard_url: str) -> AlertEvent:
    """Everything an analyst needs to judge the alert without opening anything else."""
    return AlertEvent(
        alert_id=tr.alert_id, fingerprint=fp, rule=rule.name, scope=rule.scope, key=key,
        state=tr.state, severity=rule.severity,
        labels={"rule": rule.name, "scope": rule.scope, "key": key, **rule.labels},
        metric=rule.metric, value=_finite(obs.value), threshold=rule.detector.bound,
        baseline=obs.baseline, window_start=ts(obs.window_start), window_end=ts(obs.window_end),
        counts=obs.counts, evidence=[Evidence(**e) for e in obs.evidence],
        model_version=obs.model_version, dashboard_url=dashboard_link(dashboard_url, rule, key),
        at=ts(tr.at),
    )


def _finite(v: float | None) -> float:
    if v is None or v != v:
        return 0.0
    return max(min(v, 1e308), -1e308)


def summary(ev: AlertEvent) -> str:
    where = "all news" if ev.scope == "overall" else f"{ev.scope} {ev.key}"
    return (f"[{ev.state.upper()}] {ev.rule}: {ev.metric} on {where} = {ev.value:.3g} "
            f"(threshold {ev.threshold:.3g}"
            + (f", baseline {ev.baseline:.3g}" if ev.baseline is not None else "") + ")")


def describe(ev: AlertEvent) -> str:
    window = format_duration((ev.window_end - ev.window_start).total_seconds())
    c = ev.counts
    return (f"{c.get('articles', 0)} articles in the {window} window ending "
            f"{ev.window_end:%Y-%m-%d %H:%M:%S}Z: {c.get('bearish', 0)} bearish, "
            f"{c.get('bullish', 0)} bullish, {c.get('neutral', 0)} neutral")


def finpulse_body(ev: AlertEvent) -> dict[str, Any]:
    """Standard Webhooks' recommended envelope: type, timestamp, data."""
    return {"type": f"alert.{ev.state}", "timestamp": ev.at.isoformat(),
            "data": ev.model_dump(mode="json", by_alias=True)}


def slack_body(ev: AlertEvent) -> dict[str, Any]:
    lines = [f"*{summary(ev)}*", describe(ev)]
    for e in ev.evidence:
        title = f"<{e.url}|{e.title}>" if e.url else e.title
        lines.append(f"• {title} — {e.source}, {e.sentiment} ({e.sentiment_score:+.2f})")
    if ev.dashboard_url:
        lines.append(f"<{ev.dashboard_url}|Open in finpulse>")
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def alertmanager_body(ev: AlertEvent, receiver: str, external_url: str,
                      started_at: datetime | None = None) -> dict[str, Any]:
    status = "resolved" if ev.state == "resolved" else "firing"
    labels = {"alertname": ev.rule, "severity": ev.severity, **ev.labels}
    alert = {
        "status": status, "labels": labels,
        "annotations": {"summary": summary(ev), "description": describe(ev),
                        "value": f"{ev.value:.6g}", "threshold": f"{ev.threshold:.6g}",
                        "evidence": "\n".join(f"{e.title} {e.url or ''}".strip() for e in ev.evidence)},
        "startsAt": (started_at or ev.window_start).isoformat(),
        "endsAt": ev.at.isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": ev.dashboard_url or external_url, "fingerprint": ev.fingerprint,
    }
    return {
        "version": "4", "groupKey": f"{{}}:{{alertname=\"{ev.rule}\"}}", "truncatedAlerts": 0,
        "status": status, "receiver": receiver, "groupLabels": {"alertname": ev.rule},
        "commonLabels": labels, "commonAnnotations": alert["annotations"],
        "externalURL": external_url, "alerts": [alert],
    }


def render(ev: AlertEvent, fmt: str, *, receiver: str, external_url: str,
           started_at: datetime | None = None) -> dict[str, Any]:
    if fmt == "slack":
        return slack_body(ev)
    if fmt == "alertmanager":
        return alertmanager_body(ev, receiver, external_url, started_at)
    return finpulse_body(ev)
