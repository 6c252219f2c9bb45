"""``GET /v1/health``: whether the API can reach its database (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.context import Context
from api.errors import UNAVAILABLE
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses=UNAVAILABLE)
def health(ctx: Context):
    try:
        with ctx.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"detail": "database unavailable"}, status_code=503)
    return Health(status="ok", database="reachable")
