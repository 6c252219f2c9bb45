"""``finpulse db upgrade``: Alembic migrations, run programmatically against the settings' URL.
SQLite uses batch mode (table copies) for ALTERs it cannot do in place."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from finpulse.settings import DatabaseSettings
from store.db import get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: DatabaseSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: DatabaseSettings, revision: str = "head") -> None:
    cfg = alembic_config(db)
    with get_engine(db).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current(db: DatabaseSettings) -> str | None:
    with get_engine(db).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
