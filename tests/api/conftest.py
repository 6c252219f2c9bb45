"""Fixtures for the API's tests: the dashboard's seeded database (SQLite and PostgreSQL), a key
per scope, and a FastAPI ``TestClient`` of ``create_app`` on those settings."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from api.app import create_app
from finpulse.settings import ApiSettings, Settings
from store.db import session_factory
from store.migrate import upgrade
from store.queries.api_keys import create_key
from tests.dashboard.seed import Seeded, seed_database

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what this project pins
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

SCOPED = {"reader": ("read",), "labeler": ("label",), "operator": ("operate",),
          "admin": ("read", "label", "operate")}


@dataclass
class Api:
    client: TestClient
    settings: Settings
    seeded: Seeded
    keys: dict[str, str]  # key name -> plaintext

    def headers(self, name: str = "reader") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    def get(self, path: str, name: str = "reader", **params):
        return self.client.get(path, headers=self.headers(name), params=params or None)

    def post(self, path: str, name: str, **kwargs):
        return self.client.post(path, headers=self.headers(name), **kwargs)


def add_key(settings: Settings, name: str, scopes: tuple[str, ...]) -> str:
    with session_factory(settings.database).begin() as session:
        return create_key(session, name, scopes, now=datetime.now(UTC))[1]


@pytest.fixture
def make_api(make_settings: Callable[..., Settings], db_url: str) -> Iterator[Callable[..., Api]]:
    """``make_api(rate_per_minute=600)``: an Api on a seeded database with a key per scope."""
    clients: list[TestClient] = []

    def build(rate_per_minute: int = 600) -> Api:
        settings = make_settings(database_url=db_url,
                                 api=ApiSettings(rate_per_minute=rate_per_minute))
        upgrade(settings.database)
        with session_factory(settings.database).begin() as session:
            seeded = seed_database(session, datetime.now(UTC))
        keys = {name: add_key(settings, name, scopes) for name, scopes in SCOPED.items()}
        client = TestClient(create_app(settings))
        clients.append(client)
        return Api(client, settings, seeded, keys)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
