"""The cache of authenticated keys: by the key's SHA-256, for ``ttl_s`` seconds, bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.keycache import KeyCache, digest
from store.queries.api_keys import ApiKey

pytestmark = pytest.mark.unit


def _key(name: str) -> ApiKey:
    return ApiKey(name=name, scopes=("read",), prefix="0123abcd",
                  created_at=datetime(2026, 1, 1, tzinfo=UTC), revoked_at=None, last_used_at=None)


def test_a_key_is_remembered_for_the_ttl_only() -> None:
    now = [0.0]
    cache = KeyCache(ttl_s=5, clock=lambda: now[0])
    assert cache.get("fp_a") is None
    cache.put("fp_a", _key("a"))
    now[0] = 4.9
    assert cache.get("fp_a") == _key("a")
    assert cache.get("fp_b") is None
    now[0] = 5.0
    assert cache.get("fp_a") is None
    assert cache.get("fp_a") is None  # and it is gone


def test_only_a_digest_of_the_key_is_kept() -> None:
    cache = KeyCache(ttl_s=5)
    cache.put("fp_0123abcd_secret", _key("a"))
    assert list(cache._keys) == [digest("fp_0123abcd_secret")]
    assert b"secret" not in digest("fp_0123abcd_secret")


def test_a_full_cache_drops_expired_keys_then_the_oldest() -> None:
    now = [0.0]
    cache = KeyCache(ttl_s=5, max_keys=3, clock=lambda: now[0])
    cache.put("old", _key("old"))
    now[0] = 3.0
    cache.put("b", _key("b"))
    cache.put("c", _key("c"))
    now[0] = 6.0  # "old" has expired
    cache.put("d", _key("d"))
    assert [cache.get(k) is not None for k in ("old", "b", "c", "d")] == [False, True, True, True]
    cache.put("e", _key("e"))  # all fresh: the oldest ("b") goes
    assert [cache.get(k) is not None for k in ("b", "c", "d", "e")] == [False, True, True, True]


def test_a_ttl_of_zero_keeps_nothing() -> None:
    cache = KeyCache(ttl_s=0)
    cache.put("fp_a", _key("a"))
    assert cache.get("fp_a") is None
