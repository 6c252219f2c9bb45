"""Keys that authenticated recently, so that a request does not read the key's row again.

``KeyCache`` maps the SHA-256 of a presented key (never the key itself) to the ``ApiKey`` it
authenticated as, for ``ttl_s`` seconds after that check. Within the TTL a request with the
same key is let in from memory; after it, the key is checked against the database again, so a
key revoked with ``finpulse api keys revoke`` keeps working in a running API process for at
most ``ttl_s`` seconds (``KEY_CACHE_S``, 5 s), and ``last_used_at`` is still written at most
once a minute per key (``store.queries.api_keys.authenticate`` decides, on each re-check).

Only successes are kept: an unknown, malformed or revoked key is looked up every time, and a
key created a moment ago works at once. Each API process has its own cache (like the rate
limiter), bounded to ``max_keys`` entries. A cache of ``ttl_s=0`` keeps nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from store.queries.api_keys import ApiKey

KEY_CACHE_S = 5.0  # how long a revoked key may still work in a running API process
MAX_KEYS = 10_000


def digest(presented: str) -> bytes:
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()


class KeyCache:
    def __init__(self, ttl_s: float = KEY_CACHE_S, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_keys, self.clock = ttl_s, max_keys, clock
        self._keys: dict[bytes, tuple[float, ApiKey]] = {}  # digest -> (checked at, key)
        self._lock = threading.Lock()

    def get(self, presented: str) -> ApiKey | None:
        """The key ``presented`` authenticated as less than ``ttl_s`` ago, else None."""
        d = digest(presented)
        with self._lock:
            hit = self._keys.get(d)
            if hit is None:
                return None
            if self.clock() - hit[0] < self.ttl_s:
                return hit[1]
            del self._keys[d]
            return None

    def put(self, presented: str, key: ApiKey) -> None:
        """Remember that ``presented`` authenticated as ``key`` just now."""
        if self.ttl_s <= 0:
            return
        d, now = digest(presented), self.clock()
        with self._lock:
            if len(self._keys) >= self.max_keys:
                self._keys = {k: v for k, v in self._keys.items() if now - v[0] < self.ttl_s}
                while len(self._keys) >= self.max_keys:  # all fresh: drop the oldest
                    del self._keys[next(iter(self._keys))]
            self._keys.pop(d, None)  # re-inserted last: the dict stays oldest first
            self._keys[d] = (now, key)
