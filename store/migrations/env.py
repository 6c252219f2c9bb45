"""Alembic environment: uses the connection handed over by ``store.migrate`` when present."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.tables import Base, in_models

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # a SQLAlchemy Connection
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=in_models,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, include_name=in_models)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
