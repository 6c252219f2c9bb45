"""Sending one signed webhook and deciding what a failure means: retry with exponential
backoff and jitter (timeouts, connection errors, 5xx, 408, 429 honouring Retry-After), or stop
(any other 4xx). The HTTP client is injected."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from alerts.signing import signed_headers
from finpulse.http import retry_after_s

Outcome = Literal["delivered", "retry", "permanent"]
RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    secret: str | None
    format: str
    timeout_s: float


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    max_s: float

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: Callable[[], float] = random.random) -> float:
        """Seconds before attempt ``attempt + 1``: base·2^(attempt-1) capped at max, with
        'equal jitter' (half fixed, half random); a longer Retry-After wins (capped too)."""
        exp = min(self.max_s, self.base_s * (2 ** max(attempt - 1, 0)))
        jittered = exp / 2 + rng() * exp / 2
        if retry_after is not None:
            jittered = max(jittered, min(retry_after, self.max_s))
        return jittered


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    status_code: int | None
    latency_ms: float
    error: str | None
    retry_after: float | None = None


def encode_body(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


def classify_status(code: int) -> Outcome:
    if 200 <= code < 300:
        return "delivered"
    if code >= 500 or code in RETRYABLE_STATUS:
        return "retry"
    return "permanent"


def send_once(client: httpx.Client, target: Target, webhook_id: str, body: str) -> Attempt:
    """POST ``body`` once, freshly signed; never raises for network trouble."""
    headers = signed_headers(target.secret, webhook_id, body)
    t0 = time.perf_counter()
    try:
        resp = client.post(target.url, content=body.encode("utf-8"), headers=headers,
                           timeout=target.timeout_s)
    except httpx.TimeoutException as exc:
        return Attempt("retry", None, _ms(t0), f"timeout: {exc or type(exc).__name__}")
    except httpx.TransportError as exc:
        return Attempt("retry", None, _ms(t0), f"connection error: {exc or type(exc).__name__}")
    except httpx.InvalidURL as exc:
        return Attempt("permanent", None, _ms(t0), f"invalid URL: {exc}")
    outcome = classify_status(resp.status_code)
    error = None if outcome == "delivered" else f"HTTP {resp.status_code}: {resp.text[:200]}"
    retry_after = retry_after_s(resp.headers.get("retry-after")) if outcome == "retry" else None
    return Attempt(outcome, resp.status_code, _ms(t0), error, retry_after)


def deliver_with_retry(
    client: httpx.Client, target: Target, webhook_id: str, body: str, policy: RetryPolicy,
    *, on_attempt: Callable[[int, Attempt], None] = lambda n, a: None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Attempt until delivered, a permanent failure, or ``policy.max_attempts``; the same
    ``webhook_id`` every time. True when the receiver accepted it."""
    for n in range(1, policy.max_attempts + 1):
        attempt = send_once(client, target, webhook_id, body)
        on_attempt(n, attempt)
        if attempt.outcome != "retry":
            return attempt.outcome == "delivered"
        if n < policy.max_attempts:
            sleep(policy.delay(n, attempt.retry_after))
    return False


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
