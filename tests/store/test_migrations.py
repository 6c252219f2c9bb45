"""The Alembic migrations build exactly the schema that store/models.py declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from finpulse.settings import DatabaseSettings
from store.db import get_engine
from store.migrate import current, upgrade
from store.models import Base

pytestmark = pytest.mark.integration


def test_upgrade_matches_models_and_is_repeatable(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    upgrade(db)  # a second run is a no-op
    assert current(db) is not None
    with get_engine(db).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
