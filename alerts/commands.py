"""What the ``finpulse alerts`` subcommands do (the CLI module only parses arguments)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from alerts.backtest import backtest
from alerts.dispatcher import attempt_delivery, policy_of, target_for
from alerts.durations import parse_duration
from alerts.payloads import render
from alerts.rulefile import load_rules
from alerts.webhooks import Attempt, RetryPolicy, Target, deliver_with_retry, encode_body
from finpulse.errors import ConfigError
from finpulse.schemas import AlertEvent, Evidence
from finpulse.settings import Settings
from store import tables as m
from store.db import session_factory
from store.queries import alerts as q


def check_rules(path: Path, settings: Settings) -> int:
    rules = load_rules(path, receivers=[r.name for r in settings.alerts.receivers])
    print(f"{path}: {len(rules.rules)} rule(s) OK")
    for r in rules.rules:
        keys = "all keys" if r.keys is None else ", ".join(r.keys)
        print(f"  {r.name}: {r.metric} per {r.scope} ({keys}) over {r.window:g}s, "
              f"{r.detector.type} {'>' if r.detector.above is not None else '<'} {r.detector.bound:g}")
    return 0


def sample_event(dashboard_url: str) -> AlertEvent:
    now = datetime.now(UTC)
    return AlertEvent(
        alert_id=f"test-{uuid.uuid4().hex[:12]}", fingerprint="test", rule="test-webhook",
        scope="ticker", key="TEST", state="firing", severity="info",
        labels={"rule": "test-webhook", "test": "true"}, metric="bearish_share", value=0.8,
        threshold=0.6, baseline=None, window_start=now - timedelta(minutes=15), window_end=now,
        counts={"articles": 10, "bearish": 8, "bullish": 1, "neutral": 1},
        evidence=[Evidence(article_id="0" * 32, title="finpulse test alert: ignore",
                           url="https://example.com/finpulse-test", source="finpulse",
                           sentiment="bearish", sentiment_score=-0.9, published=now)],
        model_version="test", dashboard_url=dashboard_url, at=now,
    )


def _report(n: int, a: Attempt) -> None:
    status = a.status_code if a.status_code is not None else "-"
    error = f" ({a.error})" if a.error else ""
    print(f"attempt {n}: {status} {a.outcome} in {a.latency_ms:.0f} ms{error}")


def test_webhook(settings: Settings, *, url: str, secret: str | None, fmt: str, timeout_s: float) -> int:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--url must be an http(s) URL, got {url!r}")
    ev = sample_event(settings.alerts.dashboard_url)
    body = encode_body(render(ev, fmt, receiver="test-webhook", external_url=settings.alerts.dashboard_url))
    target = Target("test-webhook", url, secret, fmt, timeout_s)
    webhook_id = f"msg_test_{uuid.uuid4().hex[:16]}"
    with httpx.Client() as client:
        ok = deliver_with_retry(client, target, webhook_id, body, interactive_policy(settings),
                                on_attempt=_report)
    print(f"{'delivered' if ok else 'NOT delivered'}: webhook-id {webhook_id} to {url}")
    return 0 if ok else 1


# A command someone waits on retries for about a minute, not for the dispatcher's hours.
INTERACTIVE_ATTEMPTS = 6


def interactive_policy(settings: Settings) -> RetryPolicy:
    policy = policy_of(settings.alerts)
    return replace(policy, max_attempts=min(policy.max_attempts, INTERACTIVE_ATTEMPTS))


def redeliver(settings: Settings, alert_id: str, *, include_delivered: bool = False) -> int:
    """Resend an alert's deliveries now (same webhook-id), with the usual retries."""
    sessions: sessionmaker[Session] = session_factory(settings.database)
    with sessions.begin() as s:
        if q.get_alert(s, alert_id) is None:
            raise ConfigError(f"no alert with id {alert_id!r}")
        todo = [d for d in q.deliveries_for_alert(s, alert_id)
                if include_delivered or d.status != "delivered"]
        jobs = [(d.id, d.webhook_id, d.attempts, target_for(settings.alerts, d)) for d in todo]
    if not jobs:
        print(f"alert {alert_id}: nothing to redeliver (use --all to resend delivered ones)")
        return 0
    policy, failed = interactive_policy(settings), 0
    with httpx.Client() as client:
        for did, wid, done, target in jobs:
            if target is None:
                print(f"{wid}: its receiver is no longer configured; skipped")
                failed += 1
                continue
            status = _redeliver_one(sessions, client, did, target, policy, done, time.sleep)
            print(f"{wid} to {target.name}: {status}")
            failed += status != "delivered"
    return 1 if failed else 0


def _redeliver_one(sessions, client, did, target, policy, done, sleep) -> str:
    with sessions.begin() as s:
        s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.id == did)
                  .values(status="pending", next_attempt_at=datetime.now(UTC)))
    limit = done + policy.max_attempts
    while True:
        n, attempt, status = attempt_delivery(sessions, client, did, target, policy, max_attempts=limit)
        _report(n, attempt)
        if status != "pending":
            return status
        sleep(policy.delay(n - done, attempt.retry_after))


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    if value is None:
        return None
    try:
        return (now or datetime.now(UTC)) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"--since/--until: {value!r} is neither an ISO time nor a duration like 7d"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_backtest(settings: Settings, rules_file: Path, *, since: str | None, until: str | None) -> int:
    rules = load_rules(rules_file)
    start, end = parse_since(since), parse_since(until)
    with session_factory(settings.database)() as session:
        findings = backtest(rules, q.classified_history(session, start, end))
    for f in findings:
        print(f.line())
    fired = sum(f.kind == "firing" for f in findings)
    print(f"{fired} alert(s) would have fired ({len(findings)} transitions)")
    return 0


def silence(settings: Settings, *, rule: str | None, key: str | None, duration: str,
            reason: str, by: str) -> int:
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise ConfigError(f"--for: {exc}") from exc
    now = datetime.now(UTC)
    until = now + timedelta(seconds=seconds)
    with session_factory(settings.database).begin() as s:
        sid = q.add_silence(s, rule=rule, key=key, until=until,
                          created_by=by, reason=reason, now=now)
    print(f"silence {sid}: rule={rule or '*'} key={key or '*'} until {until:%Y-%m-%d %H:%M:%S}Z")
    return 0
