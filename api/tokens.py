"""Opaque tokens handed to clients (the articles cursor, the stream's event ids): compact
JSON in unpadded base64url, safe in a URL and in an SSE ``id:`` line."""

from __future__ import annotations

import base64
import json
from typing import Any


def pack(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(token: str) -> Any:
    """The value in ``token``; ``ValueError`` (base64, UTF-8 or JSON errors are all
    ``ValueError``s) when it is not a token."""
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
