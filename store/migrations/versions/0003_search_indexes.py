"""search indexes: headline text search and ticker filters

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

- ``article_tickers.published``: the article's publication time, copied in by the write path,
  so that a ticker filter reads one ``(ticker, published)`` index range, newest first. The
  composite index replaces ``ix_article_tickers_ticker`` (its prefix).
- SQLite: ``articles_fts``, an external-content FTS5 table over ``articles.title`` with the
  trigram tokenizer and no positions (searches AND a few trigrams, then recheck the LIKE),
  kept in sync by triggers on ``articles``, so every writer (upsert, reclassification, replay,
  bulk loads) keeps it exact. Writers upsert with ON CONFLICT DO UPDATE; REPLACE would not do
  (its implicit delete fires no trigger). The index is keyed by the ``articles`` rowid: a later
  migration that rebuilds ``articles`` in batch mode (a table copy drops the triggers and may
  renumber rows) must recreate the triggers and run
  ``INSERT INTO articles_fts(articles_fts) VALUES('rebuild')``; so must anyone who runs VACUUM.
- PostgreSQL: the pg_trgm extension and a GIN index on ``lower(title)``, which serves the
  search's ``lower(title) LIKE '%…%'`` as it is, then ANALYZE so that the planner knows how
  common a text is (without the index's statistics it reads the index even for a word every
  headline contains). Where the extension cannot be created the migration logs it and goes
  on; the same query then scans.

Existing rows are backfilled.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

import store.tables

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

log = logging.getLogger("store.migrations")

FTS_TRIGGERS = {
    "articles_fts_ai": """
        CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title) VALUES (new.rowid, new.title);
        END""",
    "articles_fts_ad": """
        CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title)
            VALUES ('delete', old.rowid, old.title);
        END""",
    "articles_fts_au": """
        CREATE TRIGGER articles_fts_au AFTER UPDATE OF title ON articles
        WHEN old.title IS NOT new.title BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title)
            VALUES ('delete', old.rowid, old.title);
            INSERT INTO articles_fts(rowid, title) VALUES (new.rowid, new.title);
        END""",
}


def upgrade() -> None:
    with op.batch_alter_table('article_tickers', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'published', store.tables.UtcDateTime(timezone=True), nullable=True))
    _backfill_ticker_published()
    with op.batch_alter_table('article_tickers', schema=None) as batch_op:
        batch_op.alter_column('published', existing_type=store.tables.UtcDateTime(timezone=True),
                              nullable=False)
        batch_op.drop_index('ix_article_tickers_ticker')
        batch_op.create_index('ix_article_tickers_ticker_published',
                              ['ticker', 'published', 'article_id'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        _create_fts()
    else:
        _create_trigram_index()
        op.execute("ANALYZE article_tickers")


def _backfill_ticker_published() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE article_tickers AS t SET published = a.published "
                   "FROM articles AS a WHERE a.id = t.article_id")
    else:
        op.execute("UPDATE article_tickers SET published = "
                   "(SELECT a.published FROM articles AS a WHERE a.id = article_tickers.article_id)")


def _create_fts() -> None:
    op.execute("CREATE VIRTUAL TABLE articles_fts USING fts5("
               "title, content='articles', content_rowid='rowid', tokenize='trigram', detail='none')")
    for ddl in FTS_TRIGGERS.values():
        op.execute(ddl)
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")  # the backfill


def _create_trigram_index() -> None:
    conn = op.get_bind()
    try:
        with conn.begin_nested():  # a failure must not abort the migration's transaction
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        why = "its operator class gin_trgm_ops is not on the search path"
    except sa.exc.DBAPIError as exc:
        why = str(exc.orig).strip().splitlines()[0]
    usable = conn.execute(sa.text(
        "SELECT 1 FROM pg_opclass WHERE opcname = 'gin_trgm_ops' AND pg_opclass_is_visible(oid)"
    )).first()
    if usable is None:
        log.warning("pg_trgm is not available (%s): headline search has no trigram index and "
                    "scans the time window instead", why)
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_title_trgm "
               "ON articles USING gin (lower(title) gin_trgm_ops)")
    op.execute("ANALYZE articles")  # statistics of the indexed expression, for the planner


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")  # pg_trgm itself stays
    with op.batch_alter_table('article_tickers', schema=None) as batch_op:
        batch_op.drop_index('ix_article_tickers_ticker_published')
        batch_op.create_index('ix_article_tickers_ticker', ['ticker'], unique=False)
        batch_op.drop_column('published')
