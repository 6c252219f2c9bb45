"""``GET /v1/stream``: server-sent events of classified articles and alerts, live from Kafka,
resumable with ``Last-Event-ID`` (``api.stream``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from kafka.errors import KafkaError
from starlette.background import BackgroundTask

from api import stream as feeds
from api.auth import Reader
from api.context import Context
from api.errors import AUTH, BAD_INPUT
from api.params import Instant, Text

router = APIRouter(tags=["stream"])

Many = Query(max_length=100)
Token = Annotated[str | None, Query(alias="last_event_id", max_length=4000,
                                    description="the `id` of the last event received (the "
                                                "`Last-Event-ID` header wins over it)")]
EVENTS = {200: {"description": "`text/event-stream`: `event: article` and `event: alert` events, "
                               "each with a resumable `id`; `: keep-alive` comments",
                "content": {"text/event-stream": {"schema": {"type": "string"}}}},
          503: {"description": "Kafka is unreachable"}}


@router.get("/stream", response_class=StreamingResponse, responses=AUTH | BAD_INPUT | EVENTS)
def stream(
    request: Request,
    ctx: Context,
    _key: Reader,
    types: Annotated[list[str] | None, Query(max_length=10, description="`article`, `alert` or "
                                             "both, comma-separated (default: both)")] = None,
    ticker: Annotated[list[Text] | None, Many] = None,
    topic: Annotated[list[Text] | None, Many] = None,
    since: Annotated[Instant | None, Query(description="without an id: start at the first record "
                                           "at or after this time instead of live")] = None,
    last_event_id: Token = None,
    header_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=4000)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="stop after N events")] = None,
) -> StreamingResponse:
    """Classified articles (`event: article`) and alerts (`event: alert`) as they reach Kafka.
    Reconnect with the last event's `id` as `Last-Event-ID` to resume right after it."""
    token = header_id or last_event_id
    try:
        resume = feeds.decode_token(token) if token else None
        types_ = feeds.parse_types(types)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    filters = feeds.Filters(types=types_, tickers=frozenset(t.upper() for t in ticker or ()),
                            topics=frozenset(topic or ()))
    try:
        consumer, topics, positions = feeds.open_consumer(ctx.settings.kafka, types_, resume=resume,
                                                          since=since)
    except KafkaError as exc:
        raise HTTPException(503, f"kafka at {ctx.settings.kafka.bootstrap_servers} unavailable: "
                                 f"{type(exc).__name__}") from exc
    feed = feeds.Feed(consumer, topics, positions, filters)
    return StreamingResponse(
        feeds.sse(feed, disconnected=request.is_disconnected, limit=limit),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(feed.stop),  # a body never started still closes its consumer
    )
