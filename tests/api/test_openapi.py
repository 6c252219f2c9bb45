"""The OpenAPI document: valid JSON at /v1/openapi.json listing every route, each response
described, and the docs page served."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.integration

ROUTES = {
    "/v1/health": {"get"}, "/v1/series": {"get"}, "/v1/articles": {"get"},
    "/v1/alerts": {"get"}, "/v1/alerts/{alert_id}/ack": {"post"}, "/v1/models": {"get"},
    "/v1/models/champion": {"get"}, "/v1/labels": {"post"}, "/v1/stream": {"get"},
    "/v1/silences": {"get", "post"}, "/v1/silences/{silence_id}": {"delete"},
}
STREAMS = {"/v1/stream"}  # text/event-stream, not JSON


def test_openapi_lists_every_route_with_its_responses(api: Api) -> None:
    r = api.client.get("/v1/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = json.loads(r.text)
    assert doc["openapi"].startswith("3.")
    assert {p: set(ops) for p, ops in doc["paths"].items()} == ROUTES
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            media = "text/event-stream" if path in STREAMS else "application/json"
            success = {"post": "201", "delete": "204"}.get(method, "200") if "silences" in path \
                else "200"
            if success != "204":
                assert op["responses"][success]["content"][media]["schema"], (path, method)
            if path != "/v1/health":
                assert {"401", "403", "429"} <= set(op["responses"]), (path, method)
    assert {"HTTPBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])


def test_docs_are_served(api: Api) -> None:
    r = api.client.get("/v1/docs")
    assert r.status_code == 200 and "/v1/openapi.json" in r.text
