"""The webhook dispatcher: a thread that takes due deliveries from the database queue, sends
each attempt on a small worker pool (so a slow receiver holds one worker, not the stream nor
the other receivers), logs every attempt and schedules the next one with backoff."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from alerts.webhooks import Attempt, RetryPolicy, Target, encode_body, send_once
from finpulse.settings import AlertSettings
from store import tables as m
from store.queries import alerts as q

log = logging.getLogger(__name__)


def policy_of(settings: AlertSettings) -> RetryPolicy:
    return RetryPolicy(settings.max_attempts, settings.retry_base_s, settings.retry_max_s)


def target_for(settings: AlertSettings, d: m.WebhookDelivery) -> Target | None:
    """The configured receiver a delivery goes to (its secret lives only in settings)."""
    for r in settings.receivers:
        if r.name == d.receiver:
            secret = r.secret.get_secret_value() if r.secret else None
            return Target(r.name, d.url, secret, d.format, r.timeout_s)
    return None


def attempt_delivery(sessions: sessionmaker[Session], client: httpx.Client, delivery_id: int,
                     target: Target, policy: RetryPolicy,
                     max_attempts: int | None = None) -> tuple[int, Attempt, str]:
    """One attempt of one delivery, logged; returns (attempt number, attempt, new status)."""
    with sessions.begin() as s:
        d = s.get(m.WebhookDelivery, delivery_id)
        assert d is not None
        webhook_id, body, done = d.webhook_id, encode_body(d.payload), d.attempts
    attempt = send_once(client, target, webhook_id, body)
    limit = max_attempts if max_attempts is not None else policy.max_attempts
    now = datetime.now(UTC)
    dead = attempt.outcome == "permanent" or (attempt.outcome == "retry" and done + 1 >= limit)
    delay = policy.delay(done + 1, attempt.retry_after)
    with sessions.begin() as s:
        n = q.record_attempt(s, delivery_id, at=now, status_code=attempt.status_code,
                             latency_ms=attempt.latency_ms, error=attempt.error,
                             outcome=attempt.outcome, next_attempt_at=now + timedelta(seconds=delay),
                             dead=dead)
    status = "delivered" if attempt.outcome == "delivered" else ("dead" if dead else "pending")
    log.info("delivery %s to %s attempt %d: %s %s", webhook_id, target.name, n,
             attempt.status_code or "-", attempt.error or "ok")
    return n, attempt, status


class Dispatcher:
    """Polls the delivery queue every ``poll_s`` until ``stop`` is set."""

    def __init__(self, sessions: sessionmaker[Session], settings: AlertSettings,
                 client_factory: Callable[[], httpx.Client] = httpx.Client,
                 poll_s: float = 0.5, workers: int = 4) -> None:
        self.sessions, self.settings, self.poll_s = sessions, settings, poll_s
        self.client = client_factory()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self.in_flight: set[int] = set()
        self.lock = threading.Lock()
        self.policy = policy_of(settings)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.dispatch_due()
                except Exception:  # a DB hiccup must not kill delivery
                    log.exception("dispatcher pass failed; retrying")
                stop.wait(self.poll_s)
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.client.close()

    def dispatch_due(self) -> int:
        """Start an attempt for every due delivery not already in flight."""
        now = datetime.now(UTC)
        started = 0
        with self.sessions.begin() as s:
            due = [d for d in q.due_deliveries(s, now, limit=50) if d.id not in self.in_flight]
            claimed = []
            for d in due:
                target = target_for(self.settings, d)
                lease = now + timedelta(seconds=(target.timeout_s if target else 0) + 60)
                if q.claim_delivery(s, d, lease):
                    claimed.append((d.id, target))
        for delivery_id, target in claimed:
            if target is None:
                self._unknown_receiver(delivery_id)
                continue
            with self.lock:
                self.in_flight.add(delivery_id)
            self.pool.submit(self._attempt, delivery_id, target)
            started += 1
        return started

    def _attempt(self, delivery_id: int, target: Target) -> None:
        try:
            attempt_delivery(self.sessions, self.client, delivery_id, target, self.policy)
        except Exception:
            log.exception("delivery %d failed unexpectedly", delivery_id)
        finally:
            with self.lock:
                self.in_flight.discard(delivery_id)

    def _unknown_receiver(self, delivery_id: int) -> None:
        with self.sessions.begin() as s:
            q.record_attempt(s, delivery_id, at=datetime.now(UTC), status_code=None, latency_ms=None,
                             error="receiver is no longer configured", outcome="permanent",
                             next_attempt_at=None, dead=True)


def start_dispatcher(dispatcher: Dispatcher, stop: threading.Event) -> threading.Thread:
    t = threading.Thread(target=dispatcher.run, args=(stop,), name="finpulse-dispatcher", daemon=True)
    t.start()
    return t
