"""``GET /v1/models`` and ``GET /v1/models/champion``: the model registry's versions
(``store.queries.dashboard``). Server paths are not shown."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.auth import Reader
from api.context import Context
from api.errors import AUTH, NOT_FOUND
from api.schemas import ModelOut
from store.queries import dashboard

router = APIRouter(tags=["models"])


def _out(row: dict) -> ModelOut:
    return ModelOut(**{k: v for k, v in row.items() if k != "path"})


@router.get("/models", response_model=list[ModelOut], responses=AUTH)
def list_models(ctx: Context, _key: Reader) -> list[ModelOut]:
    """Registered model versions, newest first."""
    with ctx.sessions() as session:
        return [_out(r) for r in dashboard.model_versions(session)]


@router.get("/models/champion", response_model=ModelOut, responses=AUTH | NOT_FOUND)
def champion(ctx: Context, _key: Reader) -> ModelOut:
    """The version serving the stream."""
    with ctx.sessions() as session:
        row = dashboard.champion(session)
    if row is None:
        raise HTTPException(404, "no champion model: none was ever promoted")
    return _out(row)
