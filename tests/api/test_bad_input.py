"""Bad parameters are a 4xx naming the parameter, never a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/series", {"metric": "volume"}, "metric"),
    ("/v1/series", {"scope": "planet"}, "scope"),
    ("/v1/series", {"granularity": "week"}, "granularity"),
    ("/v1/series", {"from": "last tuesday"}, "from"),
    ("/v1/series", {"from": "2026-01-02", "to": "2026-01-01"}, "from"),
    ("/v1/series", {"from": "2000-01-01", "granularity": "minute"}, "from/to"),
    ("/v1/series", {"scope": "ticker", "keys": "A\x00B"}, "keys"),
    ("/v1/articles", {"limit": "0"}, "limit"),
    ("/v1/articles", {"limit": "100000"}, "limit"),
    ("/v1/articles", {"min_confidence": "2"}, "min_confidence"),
    ("/v1/articles", {"max_confidence": "nan"}, "max_confidence"),
    ("/v1/articles", {"duplicates": "sometimes"}, "duplicates"),
    ("/v1/articles", {"sentiment": "giddy"}, "sentiment"),
    ("/v1/articles", {"cursor": "not-a-cursor"}, "cursor"),
    ("/v1/articles", {"cursor": "eyJwIjogMX0"}, "cursor"),  # {"p": 1}
    ("/v1/articles", {"to": "9999-12-31T23:59:59-05:00"}, "to"),
    ("/v1/articles", {"source": "x\x00"}, "source"),
    ("/v1/articles", {"q": "q" * 201}, "q"),
    ("/v1/alerts", {"state": "asleep"}, "state"),
    ("/v1/alerts", {"limit": "-1"}, "limit"),
])
def test_bad_parameters_are_4xx_naming_the_field(api: Api, path: str, params: dict, field: str) -> None:
    r = api.get(path, **params)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert field in r.text


@pytest.mark.parametrize("q", ['"', "AND", "(*)", "NEAR(", "%_\\", "ünï"])
def test_odd_search_text_is_not_an_error(api: Api, q: str) -> None:
    assert api.get("/v1/articles", q=q).status_code == 200
