"""``GET /v1/articles``: the Articles page's search (``store.queries.articles``), newest
first, a page at a time with an opaque ``next`` cursor."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api import cursor as cursors
from api import responses
from api.auth import Reader
from api.context import ApiContext, Context
from api.errors import AUTH, BAD_INPUT
from api.params import Instant, Text, window
from api.schemas import ArticleOut, ArticlePage
from store.queries import articles

router = APIRouter(tags=["articles"])

Sentiment = Literal["bearish", "bullish", "neutral"]
Many = Query(max_length=100)
TICK = timedelta(microseconds=1)  # the stored times' resolution
FIELDS = tuple(name for name in ArticleOut.model_fields if name != "tickers")


@router.get("/articles", response_model=ArticlePage, responses=AUTH | BAD_INPUT)
async def search(
    ctx: Context,
    _key: Reader,
    start: Annotated[Instant | None, Query(alias="from", description="default: `to` - 7 days")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="exclusive; default: now")] = None,
    q: Annotated[Text, Query(description="words in the headline")] = "",
    topic: Annotated[list[Text] | None, Many] = None,
    sentiment: Annotated[list[Sentiment] | None, Many] = None,
    ticker: Annotated[list[Text] | None, Many] = None,
    source: Annotated[list[Text] | None, Many] = None,
    language: Annotated[list[Text] | None, Many] = None,
    min_confidence: Annotated[float, Query(ge=0, le=1, description="topic confidence")] = 0.0,
    max_confidence: Annotated[float, Query(ge=0, le=1, description="topic confidence")] = 1.0,
    duplicates: Literal["include", "exclude", "only"] = "include",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500, description="`next` of the previous "
                                        "page (same filters)")] = None,
) -> Response:
    start, end = window(start, end, ctx.clock(), timedelta(days=7))
    after = cursors.decode(cursor) if cursor else None
    skip = 0
    if after is not None:  # up to and including the last page's time; its articles skipped
        end, skip = min(end, after.published + TICK), after.seen_at_time
    if end <= start:
        return responses.json({"items": [], "next": None})
    f = articles.ArticleFilter(
        start=start, end=end, text=q, topics=tuple(topic or ()), sentiments=tuple(sentiment or ()),
        tickers=tuple(ticker or ()), sources=tuple(source or ()), languages=tuple(language or ()),
        min_confidence=min_confidence, max_confidence=max_confidence, duplicates=duplicates)
    return await ctx.read(_page, ctx, f, limit, skip, after)


def _page(ctx: ApiContext, f: articles.ArticleFilter, limit: int, skip: int,
          after: cursors.Cursor | None) -> Response:
    with ctx.sessions() as session:
        rows = articles.search(session, f, limit=limit + skip + 1)
    fresh = [r for r in rows if after is None or after.is_after(r["published"], r["id"])]
    page = fresh[:limit]
    more = len(fresh) > limit or len(rows) == limit + skip + 1 and len(page) == limit
    return responses.json({  # an ArticlePage, serialised in one step (api/responses.py)
        "items": [_out(r) for r in page],
        "next": cursors.encode(_position(page, after)) if more and page else None,
    })


def _position(page: list[dict[str, Any]], after: cursors.Cursor | None) -> cursors.Cursor:
    last = page[-1]
    same = sum(1 for r in page if r["published"] == last["published"])
    if after is not None and after.published == last["published"]:
        same += after.seen_at_time
    return cursors.Cursor(last["published"], last["id"], same)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    """An ArticleOut: its fields, in its order."""
    out = {name: row[name] for name in FIELDS}
    out["tickers"] = row["tickers"].split()
    return out
