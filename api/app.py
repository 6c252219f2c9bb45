"""``create_app(settings)``: the API's FastAPI application, everything under ``/v1``.

The settings are passed in; the one session factory, the rate limiter, the cache of
authenticated keys and the limit on reads at once live on ``app.state`` (no module globals),
so two apps with two databases can run side by side.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors
from api.context import ApiContext
from api.keycache import KEY_CACHE_S
from api.ratelimit import TokenBuckets
from api.routes import alerts, articles, health, labels, models, series, silences, stream
from finpulse.settings import Settings
from store.db import session_factory

PREFIX = "/v1"
DESCRIPTION = f"""\
finpulse's trends, articles, alerts and models for other systems.

Every route but `/v1/health` needs an API key (`finpulse api keys create NAME --scope read`),
sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `read` (every GET),
`label` (`POST /v1/labels`), `operate` (acknowledging alerts, adding and ending silences).
A key that authenticated is remembered for {KEY_CACHE_S:g} s by each API process: a revoked key
stops working within {KEY_CACHE_S:g} s.
Each key may make `api.rate_per_minute` requests a minute; past that: 429 with Retry-After.
"""


def create_app(settings: Settings, *, serving: bool = False) -> FastAPI:
    """The app; ``serving`` (``finpulse api``) also freezes the objects alive once it has
    started (``_freeze_gc``), which tests, sharing their process with it, leave alone."""
    app = FastAPI(
        title="finpulse API", version="1", description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None,
        lifespan=_freeze_gc if serving else None,
    )
    app.state.context = ApiContext(
        settings=settings,
        sessions=session_factory(settings.database),
        buckets=TokenBuckets(settings.api.rate_per_minute),
    )
    errors.install(app)
    v1 = APIRouter(prefix=PREFIX)
    for part in (health, series, articles, alerts, silences, models, labels, stream):
        v1.include_router(part.router)
    app.include_router(v1)
    return app


@asynccontextmanager
async def _freeze_gc(_app: FastAPI) -> AsyncIterator[None]:
    """Once the server has started, put every object alive then (modules, the app, its routes
    and schemas: some 150,000, all living as long as the process) out of the garbage
    collector's reach. Left in its oldest generation, they were walked by every full
    collection: 57-85 ms each on the 2-core EPYC, one every 150-200 requests under load, with
    every request in flight waiting (docs/experiments.md, E13). What was frozen is never
    collected, only freed when nothing refers to it any more."""
    gc.collect()
    gc.freeze()
    yield
