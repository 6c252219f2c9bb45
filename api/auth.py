"""API keys on requests: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

``require(scope)`` is a dependency that returns the caller's ``ApiKey``: 401 without a valid
key, 403 when the key lacks ``scope``, 429 (with Retry-After) once the key is over its rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.context import Context
from store.queries.api_keys import ApiKey, authenticate

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the key itself")

UNAUTHENTICATED = {"WWW-Authenticate": 'Bearer realm="finpulse"'}


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def _caller(
    ctx: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> ApiKey:
    presented = _presented(bearer, header)
    if presented is None:
        raise HTTPException(401, "missing API key: send `Authorization: Bearer <key>` or "
                                 "`X-API-Key: <key>`", headers=UNAUTHENTICATED)
    with ctx.sessions.begin() as session:
        key = authenticate(session, presented, now=ctx.clock())
    if key is None:
        raise HTTPException(401, "invalid API key (unknown or revoked)", headers=UNAUTHENTICATED)
    wait_s = ctx.buckets.take(key.name)
    if wait_s:
        raise HTTPException(429, f"rate limit of {ctx.settings.api.rate_per_minute} requests per "
                                 f"minute exceeded for key {key.name!r}",
                            headers={"Retry-After": str(wait_s)})
    return key


def require(scope: str) -> Callable[..., ApiKey]:
    """A dependency: the authenticated key, which must carry ``scope``."""

    def check(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if scope not in key.scopes:
            raise HTTPException(403, f"API key {key.name!r} lacks the {scope!r} scope "
                                     f"(it has: {', '.join(key.scopes) or 'none'})")
        return key

    return check


Reader = Annotated[ApiKey, Depends(require("read"))]
Labeler = Annotated[ApiKey, Depends(require("label"))]
Operator = Annotated[ApiKey, Depends(require("operate"))]
