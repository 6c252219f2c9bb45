"""What every request needs, built once by ``create_app`` and kept on ``app.state``: the
settings, the session factory and the rate limiter. Routes reach it through ``Depends``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from api.ratelimit import TokenBuckets
from finpulse.settings import Settings


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    sessions: sessionmaker[Session]
    buckets: TokenBuckets
    clock: Callable[[], datetime] = field(default=_utcnow)


def _context(request: Request) -> ApiContext:
    return request.app.state.context


Context = Annotated[ApiContext, Depends(_context)]
