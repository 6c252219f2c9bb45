"""Keys and scopes: no key or a bad one is a 401, a key without the route's scope a 403 naming
the scope, a revoked key a 401 (within the key cache's TTL); the key goes as a Bearer token or
in X-API-Key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from api import auth
from api.keycache import KEY_CACHE_S, KeyCache
from store.db import session_factory
from store.queries.api_keys import authenticate, list_keys, revoke_key
from tests.api.conftest import Api

pytestmark = pytest.mark.integration

READS = ["/v1/series", "/v1/articles", "/v1/alerts", "/v1/silences", "/v1/models",
         "/v1/models/champion"]
LABEL = {"labels": [{"text": "Acme beats estimates", "task": "sentiment", "label": "bullish"}]}


def _ack(api: Api, name: str):
    return api.post("/v1/alerts/a-earnings/ack", name)


def _silence(api: Api, name: str):
    return api.post("/v1/silences", name, json={"rule": "bearish-surge", "minutes": 30})


def _label(api: Api, name: str):
    return api.post("/v1/labels", name, json=LABEL)


def test_no_key_is_401_on_every_route_but_health(api: Api) -> None:
    for path in READS:
        r = api.client.get(path)
        assert r.status_code == 401, path
        assert "missing API key" in r.json()["detail"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.client.post("/v1/labels", json=LABEL).status_code == 401
    assert api.client.post("/v1/alerts/a-earnings/ack").status_code == 401
    assert api.client.post("/v1/silences", json={"minutes": 5}).status_code == 401
    assert api.client.delete("/v1/silences/1").status_code == 401
    assert api.client.get("/v1/health").status_code == 200


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer fp_00000000_notarealsecret"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwdw=="},
    {"X-API-Key": "nonsense"},
])
def test_a_bad_key_is_401(api: Api, headers: dict[str, str]) -> None:
    r = api.client.get("/v1/models", headers=headers)
    assert r.status_code == 401
    assert "API key" in r.json()["detail"]


def test_the_key_may_come_in_x_api_key(api: Api) -> None:
    r = api.client.get("/v1/models", headers={"X-API-Key": api.keys["reader"]})
    assert r.status_code == 200


def test_read_scope_reads_but_neither_labels_nor_acks(api: Api) -> None:
    for path in READS:
        assert api.get(path, "reader").status_code == 200, path
    r = _label(api, "reader")
    assert r.status_code == 403 and "'label' scope" in r.json()["detail"]
    r = _ack(api, "reader")
    assert r.status_code == 403 and "'operate' scope" in r.json()["detail"]
    r = _silence(api, "reader")
    assert r.status_code == 403 and "'operate' scope" in r.json()["detail"]


def test_label_scope_labels_only(api: Api) -> None:
    assert _label(api, "labeler").status_code == 200
    r = api.get("/v1/articles", "labeler")
    assert r.status_code == 403 and "'read' scope" in r.json()["detail"]
    assert _ack(api, "labeler").status_code == 403
    assert _silence(api, "labeler").status_code == 403


def test_operate_scope_acks_and_silences_only(api: Api) -> None:
    assert _ack(api, "operator").status_code == 200
    assert _silence(api, "operator").status_code == 201
    r = api.get("/v1/alerts", "operator")
    assert r.status_code == 403 and "'read' scope" in r.json()["detail"]
    assert _label(api, "operator").status_code == 403


def test_a_revoked_key_is_401_within_the_key_cache_ttl(api: Api) -> None:
    cache = api.client.app.state.context.keys
    now = [1000.0]
    cache.clock = lambda: now[0]
    assert api.get("/v1/models").status_code == 200
    with session_factory(api.settings.database).begin() as session:
        revoke_key(session, "reader", now=datetime.now(UTC))
    now[0] += KEY_CACHE_S - 0.1
    assert api.get("/v1/models").status_code == 200  # still remembered by this process
    now[0] += 0.1
    r = api.get("/v1/models")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    now[0] += 0.1
    assert api.get("/v1/models").status_code == 401  # a failure is not remembered as a success


def test_a_remembered_key_is_not_read_again_within_the_ttl(api: Api, monkeypatch) -> None:
    cache = api.client.app.state.context.keys
    now = [1000.0]
    cache.clock = lambda: now[0]
    lookups: list[str] = []

    def counted(session, key, *, now):
        lookups.append(key)
        return authenticate(session, key, now=now)

    monkeypatch.setattr(auth, "authenticate", counted)
    for _ in range(3):
        assert api.get("/v1/models").status_code == 200
        assert api.get("/v1/alerts", "admin").status_code == 200
    assert lookups == [api.keys["reader"], api.keys["admin"]]
    assert api.client.get("/v1/models", headers={"X-API-Key": "fp_00000000_nope"}
                          ).status_code == 401
    assert api.client.get("/v1/models", headers={"X-API-Key": "fp_00000000_nope"}
                          ).status_code == 401
    assert lookups[2:] == ["fp_00000000_nope"] * 2  # failures are looked up every time
    now[0] += KEY_CACHE_S
    assert api.get("/v1/models").status_code == 200
    assert lookups[4:] == [api.keys["reader"]]


def test_last_used_at_is_written_at_most_once_a_minute(api: Api) -> None:
    clock = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    state = api.client.app.state  # every request checks the key against the database
    state.context = replace(state.context, clock=lambda: clock[0], keys=KeyCache(ttl_s=0))

    def last_used() -> datetime | None:
        with session_factory(api.settings.database)() as session:
            return next(k for k in list_keys(session) if k.name == "reader").last_used_at

    assert api.get("/v1/models").status_code == 200
    assert last_used() == clock[0]
    first = clock[0]
    clock[0] = first + timedelta(seconds=59)
    assert api.get("/v1/models").status_code == 200
    assert last_used() == first
    clock[0] = first + timedelta(seconds=60)
    assert api.get("/v1/models").status_code == 200
    assert last_used() == clock[0]
