"""What every request needs, built once by ``create_app`` and kept on ``app.state``: the
settings, the session factory, the rate limiter, the cache of authenticated keys and the
limit on reads at once. Routes reach it through ``Depends``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from api.keycache import KeyCache
from api.ratelimit import TokenBuckets
from finpulse.settings import Settings

# The heavy reads (``/v1/series``, ``/v1/articles``) that run at once in one API process; the
# others wait their turn. A read is mostly Python holding the GIL (turning a few hundred rows
# into JSON), so more threads than this only take turns on it: at 8 clients on 2 cores, 2 at
# once against FastAPI's 40 gave p99 34-53 ms against 58-79 (docs/experiments.md, E13).
READS_AT_ONCE = 2

T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _reads_limiter() -> CapacityLimiter:
    return CapacityLimiter(READS_AT_ONCE)


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    sessions: sessionmaker[Session]
    buckets: TokenBuckets
    clock: Callable[[], datetime] = field(default=_utcnow)
    keys: KeyCache = field(default_factory=KeyCache)
    reads: CapacityLimiter = field(default_factory=_reads_limiter)

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a worker thread, at most ``READS_AT_ONCE`` of them at a time."""
        return await to_thread.run_sync(fn, *args, limiter=self.reads)


async def _context(request: Request) -> ApiContext:  # async: no thread-pool hop for a lookup
    return request.app.state.context


Context = Annotated[ApiContext, Depends(_context)]
