"""``GET /v1/alerts`` and ``POST /v1/alerts/{id}/ack`` (``store.queries.dashboard``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from api.auth import Operator, Reader
from api.context import Context
from api.errors import AUTH, BAD_INPUT, NOT_FOUND
from api.schemas import Ack, AlertOut
from store.queries import alerts as alert_rows
from store.queries import dashboard

router = APIRouter(tags=["alerts"])

State = Literal["pending", "firing", "resolved"]


@router.get("/alerts", response_model=list[AlertOut], responses=AUTH | BAD_INPUT)
def list_alerts(
    ctx: Context,
    _key: Reader,
    state: Annotated[list[State] | None, Query(description="any of these states (default: all)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """The most recently started alerts, newest first."""
    with ctx.sessions() as session:
        rows = dashboard.latest_alerts(session, limit=limit, states=tuple(state or ()))
    return [AlertOut(**r) for r in rows]


@router.post("/alerts/{alert_id}/ack", response_model=Ack, responses=AUTH | NOT_FOUND)
def acknowledge(
    ctx: Context,
    key: Operator,
    alert_id: Annotated[str, Path(max_length=64)],
) -> Ack:
    """Acknowledge an alert in the name of the API key (scope `operate`)."""
    at = ctx.clock()
    with ctx.sessions.begin() as session:
        if alert_rows.get_alert(session, alert_id) is None:
            raise HTTPException(404, f"no alert with id {alert_id!r}")
        dashboard.acknowledge(session, alert_id, by=key.name, at=at)
    return Ack(id=alert_id, acked_by=key.name, acked_at=at)
