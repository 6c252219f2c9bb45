"""The Alembic migrations build exactly the schema that store/tables.py declares, and
0003 (search indexes) backfills the rows an older database already holds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from finpulse.settings import DatabaseSettings
from store.db import get_engine, session_factory
from store.migrate import alembic_config, current, upgrade
from store.queries import articles
from store.tables import Base, in_models
from tests.conftest import unique

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_upgrade_matches_models_and_is_repeatable(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    upgrade(db)  # a second run is a no-op
    assert current(db) is not None
    with get_engine(db).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": in_models}), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        assert search_structures(conn) == expected_search_structures(conn.dialect.name)


def search_structures(conn) -> set[str]:
    """The search index objects that exist (a later batch migration of ``articles`` on SQLite
    would silently drop the FTS triggers: this notices)."""
    if conn.dialect.name == "sqlite":
        return set(conn.scalars(text(
            "SELECT name FROM sqlite_master WHERE name = 'articles_fts' OR type = 'trigger'")))
    return {i["name"] for i in inspect(conn).get_indexes("articles")
            if i["name"] in {"ix_articles_title_trgm"}}


def expected_search_structures(dialect: str) -> set[str]:
    if dialect == "sqlite":
        return {"articles_fts", "articles_fts_ai", "articles_fts_ad", "articles_fts_au"}
    return {"ix_articles_title_trgm"}


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(DatabaseSettings())).get_current_head()


def insert_at_0002(conn) -> None:
    """Three articles with predictions and tickers, as a 0002 database holds them."""
    for i, title in enumerate(["Fed holds rates", "ACME beats: EPS +5%", "ACME \"guides\" lower"]):
        at = (T0 + timedelta(minutes=i)).replace(tzinfo=None)
        conn.execute(text(
            "INSERT INTO articles (id, source, url, title, text, published, fetched, stored_at) "
            "VALUES (:id, 'wire', NULL, :title, '', :at, :at, :at)"), {"id": f"a{i}", "title": title,
                                                                       "at": at})
        conn.execute(text(
            "INSERT INTO predictions (article_id, topic, topic_id, topic_confidence, topic_probs, "
            "sentiment, sentiment_confidence, sentiment_probs, sentiment_score, model_version, "
            "latency_ms, classified_at) VALUES (:id, 'Macro', 0, 0.9, '[]', :s, 0.8, '[]', 0.0, "
            "'v1', 1.0, :at)"), {"id": f"a{i}", "s": "bearish" if i else "bullish", "at": at})
        if i:
            conn.execute(text("INSERT INTO article_tickers (article_id, ticker) VALUES (:id, 'ACME')"),
                         {"id": f"a{i}"})


def test_upgrade_from_0002_backfills_existing_rows(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db, "0002")
    with get_engine(db).begin() as conn:
        insert_at_0002(conn)
    upgrade(db, "0003")
    assert current(db) == "0003"
    with get_engine(db).connect() as conn:
        copied = conn.execute(text(
            "SELECT t.article_id FROM article_tickers AS t JOIN articles AS a "
            "ON a.id = t.article_id WHERE t.published = a.published ORDER BY 1")).scalars().all()
        assert copied == ["a1", "a2"]
        assert search_structures(conn) == expected_search_structures(conn.dialect.name)
    upgrade(db)  # the queries are today's: they read columns later revisions add
    window = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
    with session_factory(db)() as s:
        if s.get_bind().dialect.name == "sqlite":  # the backfilled FTS index finds old rows
            assert s.scalars(text("SELECT a.id FROM articles_fts JOIN articles AS a "
                                  "ON a.rowid = articles_fts.rowid WHERE articles_fts MATCH "
                                  "'\"cme\" AND \"gui\"'")).all() == ["a2"]
        found = articles.search(s, articles.ArticleFilter(**window, text="acme"))
        assert [r["id"] for r in found] == ["a2", "a1"]
        assert [r["tickers"] for r in found] == ["ACME", "ACME"]
        quoted = articles.search(s, articles.ArticleFilter(**window, text='"GUIDES"'))
        assert [r["id"] for r in quoted] == ["a2"]
        bearish = articles.search(s, articles.ArticleFilter(
            **window, tickers=("acme",), sentiments=("bearish",)))
        assert [r["id"] for r in bearish] == ["a2", "a1"]
    downgrade(db, "0002")  # and back: the search structures go, the rows stay
    with get_engine(db).connect() as conn:
        assert search_structures(conn) == set()
        assert "published" not in {c["name"] for c in inspect(conn).get_columns("article_tickers")}
        assert conn.scalar(text("SELECT count(*) FROM article_tickers")) == 2
    upgrade(db)  # to the head: later migrations keep the search structures (triggers included)
    with get_engine(db).connect() as conn:
        assert search_structures(conn) == expected_search_structures(conn.dialect.name)
    with session_factory(db)() as s:
        again = articles.search(s, articles.ArticleFilter(**window, text="acme"))
    assert [r["id"] for r in again] == ["a2", "a1"]


def downgrade(db: DatabaseSettings, revision: str) -> None:
    cfg = alembic_config(db)
    with get_engine(db).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


@pytest.mark.postgres
def test_without_pg_trgm_the_migration_succeeds_and_search_still_works(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions (no CREATE on the database) migrates anyway."""
    role = unique("finpulse_noext_")
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"'))
    db = DatabaseSettings(url=make_url(postgres_url).set(username=role, password=None)
                          .render_as_string(hide_password=False))
    try:
        upgrade(db, "0002")
        with get_engine(db).begin() as conn:
            insert_at_0002(conn)
        with caplog.at_level(logging.WARNING, logger="store.migrations"):
            upgrade(db)
        assert current(db) == head_revision()
        assert "pg_trgm is not available (permission denied" in caplog.text
        with get_engine(db).connect() as conn:
            assert search_structures(conn) == set()
        with session_factory(db)() as s:
            found = articles.search(s, articles.ArticleFilter(
                start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), text="Acme"))
        assert [r["id"] for r in found] == ["a2", "a1"]
    finally:
        get_engine(db).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()

