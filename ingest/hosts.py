"""Per-host politeness: at most N requests in flight, requests spaced by the host's rate (or
its robots.txt Crawl-delay, whichever is slower), and a pause after a Retry-After."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class HostGate:
    """One host's gate; ``clock`` (monotonic seconds) and ``sleep`` are the real ones unless a
    test passes its own."""

    def __init__(self, concurrency: int, rate_per_s: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self.interval = 1.0 / rate_per_s
        self.crawl_delay = 0.0
        self._next = 0.0
        self.not_before = 0.0

    def pause_until(self, monotonic_time: float) -> None:
        self.not_before = max(self.not_before, monotonic_time)

    async def _turn(self) -> None:
        async with self._lock:
            now = self._clock()
            start = max(now, self._next, self.not_before)
            self._next = start + max(self.interval, self.crawl_delay)
        if start > now:
            await self._sleep(start - now)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            await self._turn()
            yield


class HostGates:
    def __init__(self, concurrency: int, rate_per_s: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.concurrency, self.rate_per_s = concurrency, rate_per_s
        self._clock, self._sleep = clock, sleep
        self._gates: dict[str, HostGate] = {}

    def get(self, host: str) -> HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.concurrency, self.rate_per_s,
                                                clock=self._clock, sleep=self._sleep)
        return gate
