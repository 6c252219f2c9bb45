"""Per-key rate limiting: an in-process token bucket per API key name.

Each key may burst up to ``rate_per_minute`` requests, refilled continuously at that rate.
Every API process keeps its own buckets (a limit per process, not per cluster).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``take(name)`` returns 0 when a request may go ahead, else the seconds to wait."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(rate_per_minute)
        self.per_second = rate_per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # sync routes run on a thread pool

    def take(self, name: str) -> int:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(name, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return max(1, math.ceil((1 - bucket.tokens) / self.per_second))
