"""``create_app(settings)``: the API's FastAPI application, everything under ``/v1``.

The settings are passed in; the one session factory and the rate limiter live on
``app.state`` (no module globals), so two apps with two databases can run side by side.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api import errors
from api.context import ApiContext
from api.ratelimit import TokenBuckets
from api.routes import alerts, articles, health, labels, models, series, silences, stream
from finpulse.settings import Settings
from store.db import session_factory

PREFIX = "/v1"
DESCRIPTION = """\
finpulse's trends, articles, alerts and models for other systems.

Every route but `/v1/health` needs an API key (`finpulse api keys create NAME --scope read`),
sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `read` (every GET),
`label` (`POST /v1/labels`), `operate` (acknowledging alerts, adding and ending silences).
Each key may make `api.rate_per_minute` requests a minute; past that: 429 with Retry-After.
"""


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="finpulse API", version="1", description=DESCRIPTION,
        openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None,
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
