"""The routes that serialise their body in one step (``api/responses.py``) send exactly the
bytes that their ``response_model`` would: each body read back through the model and dumped
again is the same, byte for byte."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel

from api.schemas import ArticlePage, Series
from tests.api.conftest import Api

pytestmark = pytest.mark.integration


def _same_as_the_model(model: type[BaseModel], content: bytes) -> None:
    assert model.model_validate_json(content).model_dump_json().encode() == content


@pytest.mark.parametrize("metric", ["count", "mean_sentiment", "bearish", "novel"])
@pytest.mark.parametrize("scope,granularity", [("overall", "hour"), ("topic", "minute"),
                                               ("ticker", "day")])
def test_series_body_is_the_models(api: Api, metric: str, scope: str, granularity: str) -> None:
    now = api.seeded.now
    r = api.get("/v1/series", metric=metric, scope=scope, granularity=granularity,
                **{"from": (now - timedelta(days=3)).isoformat(),
                   "to": (now + timedelta(hours=1)).isoformat()})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["points"]
    _same_as_the_model(Series, r.content)


def test_articles_body_is_the_models(api: Api) -> None:
    r = api.get("/v1/articles", limit=5)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert len(r.json()["items"]) == 5 and r.json()["next"]
    _same_as_the_model(ArticlePage, r.content)
    last = api.get("/v1/articles", limit=500)
    assert last.json()["next"] is None
    _same_as_the_model(ArticlePage, last.content)
    dupes = api.get("/v1/articles", duplicates="only", limit=3)
    _same_as_the_model(ArticlePage, dupes.content)
    empty = api.get("/v1/articles", **{"from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z"})
    assert empty.json() == {"items": [], "next": None}
    _same_as_the_model(ArticlePage, empty.content)

