"""API keys on requests: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

``require(scope)`` is a dependency that returns the caller's ``ApiKey``: 401 without a valid
key, 403 when the key lacks ``scope``, 429 (with Retry-After) once the key is over its rate.

A key that authenticated is remembered for a few seconds (``api.keycache``): a request within
that time reads nothing from the database for its key, and a revoked key stops working within
``KEY_CACHE_S`` (5 s). The dependencies are ``async`` so that a request whose key is
remembered reaches its route without a hop through the thread pool; a key that is not is
looked up (and its ``last_used_at`` written, at most once a minute) in the thread pool, in a
transaction of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.context import ApiContext, Context
from store.queries.api_keys import ApiKey, authenticate

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the key itself")

UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="finpulse"'}


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def _authenticate(ctx: ApiContext, presented: str) -> ApiKey | None:
    with ctx.sessions.begin() as session:
        return authenticate(session, presented, now=ctx.clock())


async def _caller(
    ctx: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> ApiKey:
    presented = _presented(bearer, header)
    if presented is None:
        raise HTTPException(401, "missing API key: send `Authorization: Bearer <key>` or "
                                 "`X-API-Key: <key>`", headers=UNAUTHENTICATED)
    key = ctx.keys.get(presented)
    if key is None:
        key = await run_in_threadpool(_authenticate, ctx, presented)
        if key is None:
            raise HTTPException(401, "invalid API key (unknown or revoked)",
                                headers=UNAUTHENTICATED)
        ctx.keys.put(presented, key)
    wait_s = ctx.buckets.take(key.name)
    if wait_s:
        raise HTTPException(429, f"rate limit of {ctx.settings.api.rate_per_minute} requests per "
                                 f"minute exceeded for key {key.name!r}",
                            headers={"Retry-After": str(wait_s)})
    return key


def require(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency: the authenticated key, which must carry ``scope``."""

    async def check(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if scope not in key.scopes:
            raise HTTPException(403, f"API key {key.name!r} lacks the {scope!r} scope "
                                     f"(it has: {', '.join(key.scopes) or 'none'})")
        return key

    return check


Reader = Annotated[ApiKey, Depends(require("read"))]
Labeler = Annotated[ApiKey, Depends(require("label"))]
Operator = Annotated[ApiKey, Depends(require("operate"))]
