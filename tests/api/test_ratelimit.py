"""Each key has its own token bucket: past its rate a request is a 429 with Retry-After."""

from __future__ import annotations

import pytest

from api.ratelimit import TokenBuckets
from tests.api.conftest import Api


@pytest.mark.unit
def test_a_bucket_bursts_to_its_rate_then_refills() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate_per_minute=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == 20  # one token every 20 s
    assert buckets.take("b") == 0  # another key has its own bucket
    now[0] = 19.0
    assert buckets.take("a") == 1
    now[0] = 20.0
    assert buckets.take("a") == 0


@pytest.mark.integration
def test_over_the_rate_is_429_with_retry_after(make_api) -> None:
    api: Api = make_api(rate_per_minute=2)
    assert [api.get("/v1/models").status_code for _ in range(2)] == [200, 200]
    r = api.get("/v1/models")
    assert r.status_code == 429 and "rate limit of 2 requests per minute" in r.json()["detail"]
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert api.get("/v1/models", "admin").status_code == 200  # per key
    assert api.client.get("/v1/health").status_code == 200  # health is not limited
