"""``GET /v1/series``: a metric over time per topic, ticker, source or overall, from the
rollups the sink maintains (``store.queries.trends``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api import responses
from api.auth import Reader
from api.context import ApiContext, Context
from api.errors import AUTH, BAD_INPUT
from api.params import Instant, Text, window
from api.schemas import Series
from store.queries import trends

router = APIRouter(tags=["series"])

Metric = Literal["count", "mean_sentiment", "bearish", "bullish", "neutral", "novel"]
Scope = Literal["overall", "topic", "ticker", "source"]
Granularity = Literal["minute", "hour", "day"]
DIM = {"overall": "all", "topic": "topic", "ticker": "ticker", "source": "source"}
BUCKET = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 10_000
VALUE: dict[str, Callable[[trends.Point], float]] = {  # a point's value of each metric
    "count": lambda p: float(p.n),
    "mean_sentiment": lambda p: p.sum_score / p.n,
    "bearish": lambda p: float(p.n_bearish),
    "bullish": lambda p: float(p.n_bullish),
    "neutral": lambda p: float(p.n_neutral),
    "novel": lambda p: float(p.n_novel),
}


@router.get("/series", response_model=Series, responses=AUTH | BAD_INPUT)
async def series(
    ctx: Context,
    _key: Reader,
    metric: Annotated[Metric, Query(description="count: articles; mean_sentiment: mean of "
                                    "P(bullish) - P(bearish); bearish, bullish, neutral, novel: "
                                    "article counts")] = "count",
    scope: Scope = "overall",
    keys: Annotated[list[Text] | None, Query(max_length=100, description="topics, tickers or "
                                             "sources (default: all)")] = None,
    start: Annotated[Instant | None, Query(alias="from", description="default: `to` - 24h")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="exclusive; default: now")] = None,
    granularity: Granularity = "hour",
) -> Response:
    return await ctx.read(_series, ctx, metric, scope, keys, start, end, granularity)


def _series(ctx: ApiContext, metric: str, scope: str, keys: list[str] | None,
            start: datetime | None, end: datetime | None, granularity: str) -> Response:
    start, end = window(start, end, ctx.clock(), timedelta(hours=24))
    if (end - start) / BUCKET[granularity] > MAX_BUCKETS:
        raise ValueError(f"from/to: more than {MAX_BUCKETS} {granularity} buckets; use a coarser "
                         "granularity or a shorter window")
    wanted = None if scope == "overall" or not keys else keys
    if wanted and scope == "ticker":
        wanted = [k.upper() for k in wanted]
    with ctx.sessions() as session:
        rows = trends.series(session, dim=DIM[scope], grain=granularity, start=start, end=end,
                             keys=wanted)
    value = VALUE[metric]
    body: dict[str, Any] = {  # a Series, serialised in one step (api/responses.py)
        "metric": metric, "scope": scope, "granularity": granularity, "start": start, "end": end,
        "points": [{"bucket": p.bucket, "key": p.key, "value": value(p)} for p in rows if p.n > 0],
    }
    return responses.json(body)
