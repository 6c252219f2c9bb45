"""What ``finpulse api keys`` does, each in its own transaction (``store.queries.api_keys``
holds the keys; only a hash of each secret is stored)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from finpulse.settings import Settings
from store.db import transaction
from store.migrate import upgrade
from store.queries import api_keys


@contextmanager
def _transaction(settings: Settings) -> Iterator[Session]:
    with transaction(settings.database) as session:  # database errors: a ConfigError
        upgrade(settings.database)  # the keys table may be newer than the database
        yield session


def create(settings: Settings, name: str, scopes: Sequence[str]) -> tuple[api_keys.ApiKey, str]:
    with _transaction(settings) as session:
        return api_keys.create_key(session, name, scopes, now=datetime.now(UTC))


def listed(settings: Settings) -> list[api_keys.ApiKey]:
    with _transaction(settings) as session:
        return api_keys.list_keys(session)


def revoke(settings: Settings, name: str) -> api_keys.ApiKey:
    with _transaction(settings) as session:
        return api_keys.revoke_key(session, name, now=datetime.now(UTC))


def describe(key: api_keys.ApiKey) -> dict[str, Any]:
    return {"name": key.name, "scopes": list(key.scopes), "prefix": key.prefix,
            "created_at": key.created_at, "last_used_at": key.last_used_at,
            "revoked_at": key.revoked_at, "state": "revoked" if key.revoked_at else "active"}
