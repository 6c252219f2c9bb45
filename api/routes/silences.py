"""``GET /v1/silences``, ``POST /v1/silences`` and ``DELETE /v1/silences/{id}``: the silences
the dashboard's Alerts page makes, for other systems (``store.queries.dashboard``).

A silence mutes a rule's webhooks (on one key, or every key) until it ends; the alert itself
still fires and is still listed. Rule names are not checked against the rule file: a silence may
be set ahead of a rule that has not fired yet, and the API reads only the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from api.auth import Operator, Reader
from api.context import Context
from api.errors import AUTH, BAD_INPUT, NOT_FOUND
from api.schemas import SilenceIn, SilenceOut
from store.queries import dashboard

router = APIRouter(tags=["alerts"])


@router.get("/silences", response_model=list[SilenceOut], responses=AUTH)
def list_silences(ctx: Context, _key: Reader) -> list[SilenceOut]:
    """The silences in force now, the soonest to end first."""
    with ctx.sessions() as session:
        rows = dashboard.active_silences(session, now=ctx.clock())
    return [SilenceOut(**r) for r in rows]


@router.post("/silences", response_model=SilenceOut, status_code=201, responses=AUTH | BAD_INPUT)
def add_silence(ctx: Context, key: Operator, body: SilenceIn) -> SilenceOut:
    """Silence a rule (on one key, or on all) for a while, in the name of the API key."""
    now = ctx.clock()
    with ctx.sessions.begin() as session:
        silence_id = dashboard.silence(
            session, rule=body.rule, key=body.key, duration=timedelta(minutes=body.minutes),
            by=key.name, reason=body.reason, now=now)
    return SilenceOut(id=silence_id, rule=body.rule, key=body.key,
                      until=now + timedelta(minutes=body.minutes), created_by=key.name,
                      reason=body.reason, created_at=now)


@router.delete("/silences/{silence_id}", status_code=204, responses=AUTH | NOT_FOUND)
def end_silence(
    ctx: Context, _key: Operator, silence_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """End a silence now (it stays in the history with its new end)."""
    now = ctx.clock()
    with ctx.sessions.begin() as session:
        if not any(s["id"] == silence_id for s in dashboard.active_silences(session, now=now)):
            raise HTTPException(404, f"no silence in force with id {silence_id}")
        dashboard.expire_silence(session, silence_id, now=now)
    return Response(status_code=204)
