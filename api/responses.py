"""JSON bodies serialised in one step, for the routes that return many rows.

A route that returns a pydantic model has FastAPI validate it again against its
``response_model`` (for a sync route, on one more hop through the thread pool) and then
serialise it; for a few hundred rows that is a good part of the request. ``json`` takes the
body as plain dicts, lists, strings, numbers and UTC datetimes, shaped exactly as the route's
``response_model`` (which still documents the route in the OpenAPI document), and serialises
it with pydantic-core, the serialiser FastAPI would have used: the bytes are the same
(tests/api/test_responses.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json(body: dict[str, Any]) -> Response:
    """A 200 response of ``body`` serialised."""
    return Response(to_json(body), media_type="application/json")
