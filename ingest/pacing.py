"""Pacing a stream: at most ``rate_per_s`` items a second, interruptible by a stop event."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Spaces items evenly at ``rate_per_s`` (None or 0: as fast as possible). It sleeps in
    ``stop.wait`` and reads the time from ``clock`` (monotonic seconds; tests pass their own)."""

    def __init__(self, rate_per_s: float | None, stop: threading.Event | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self.stop = stop or threading.Event()
        self.clock = clock
        self._next = clock()

    def wait(self) -> bool:
        """Sleep until the next item is due; False when asked to stop meanwhile."""
        if self.interval:
            delay = self._next - self.clock()
            if delay > 0 and self.stop.wait(delay):
                return False
            self._next = max(self._next, self.clock() - self.interval) + self.interval
        return not self.stop.is_set()

    def sleep_until(self, monotonic_deadline: float) -> bool:
        """Sleep until a deadline on the monotonic clock; False when asked to stop."""
        delay = monotonic_deadline - self.clock()
        if delay > 0 and self.stop.wait(delay):
            return False
        return not self.stop.is_set()
