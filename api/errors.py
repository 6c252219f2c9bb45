"""Errors as JSON ``{"detail": "..."}``: bad input that the query functions refuse is a 400,
an unreachable database a 503; never a 500 for what the caller sent."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError

from api.schemas import Error
from finpulse.errors import ConfigError, PermanentError

log = logging.getLogger(__name__)

# The error responses each kind of route can give, for the OpenAPI document.
AUTH = {401: {"model": Error, "description": "no API key, or an unknown or revoked one"},
        403: {"model": Error, "description": "the key lacks the scope this route needs"},
        429: {"model": Error, "description": "over the key's rate limit (see Retry-After)"}}
BAD_INPUT = {400: {"model": Error, "description": "a parameter the query refused"}}
NOT_FOUND = {404: {"model": Error, "description": "no such item"}}
UNAVAILABLE = {503: {"model": Error, "description": "the database is unreachable"}}


def _bad_input(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


def _invalid_value(_request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (e.g. a NUL character in a PostgreSQL text parameter).
    return JSONResponse({"detail": f"a parameter has a value the database refuses: {exc.orig}"},
                        status_code=400)


def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse({"detail": "database unavailable"}, status_code=503)


def install(app: FastAPI) -> None:
    for kind in (PermanentError, ConfigError, ValueError):
        app.add_exception_handler(kind, _bad_input)
    app.add_exception_handler(DataError, _invalid_value)
    app.add_exception_handler(OperationalError, _unavailable)
