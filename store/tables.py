"""The database schema. Only ``store/`` defines tables; other parts use the query functions.

Every timestamp is stored as UTC and read back timezone-aware (``UtcDateTime``), on SQLite as
on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: finpulse stores UTC-aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# Search structures the ORM cannot declare, created by migration 0003: SQLite's FTS5 table
# ``articles_fts`` (with its shadow tables and triggers) and PostgreSQL's pg_trgm index, which
# exists only where the extension could be created. Schema comparisons leave them out.
SEARCH_TABLES_PREFIX = "articles_fts"
SEARCH_INDEXES = frozenset({"ix_articles_title_trgm"})


def in_models(name: str | None, type_: str, _parent_names: object = None) -> bool:
    """Alembic ``include_name`` hook: False for the search structures above."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLES_PREFIX):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime] = mapped_column(index=True)
    published_precision: Mapped[str] = mapped_column(String(8), default="second",
                                                     server_default="second")
    fetched: Mapped[datetime]
    language: Mapped[str | None] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[str | None] = mapped_column(String(64), index=True)
    stored_at: Mapped[datetime]

    __table_args__ = (
        # The watchdog's "when did this source last deliver, and how often does it": one short
        # index range per source.
        Index("ix_articles_source_stored_at", "source", "stored_at"),
    )


class Prediction(Base):
    """The current prediction of each article (the latest model that classified it)."""

    __tablename__ = "predictions"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), index=True)
    topic_id: Mapped[int]
    topic_confidence: Mapped[float] = mapped_column(Float)
    topic_probs: Mapped[list[Any]]
    sentiment: Mapped[str] = mapped_column(String(16), index=True)
    sentiment_confidence: Mapped[float] = mapped_column(Float)
    sentiment_probs: Mapped[list[Any]]
    sentiment_score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    classified_at: Mapped[datetime]


class ArticleTicker(Base):
    """A ticker an article names, with the article's publication time copied in (written by
    the same upsert as the article) so that "this ticker, newest first" is one index range."""

    __tablename__ = "article_tickers"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    ticker: Mapped[str] = mapped_column(String(32), primary_key=True)
    published: Mapped[datetime]

    __table_args__ = (
        Index("ix_article_tickers_ticker_published", "ticker", "published", "article_id"),
    )


class Rollup(Base):
    """Counts per time bucket, maintained by the sink in the same transaction as the rows.

    grain: 'minute' or 'hour'; dim: 'all', 'topic', 'ticker' or 'source'; key: the topic,
    ticker or source ('*' for dim 'all'). Buckets are by publication time.
    """

    __tablename__ = "rollups"

    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    n_novel: Mapped[int] = mapped_column(Integer, default=0)
    n_bearish: Mapped[int] = mapped_column(Integer, default=0)
    n_bullish: Mapped[int] = mapped_column(Integer, default=0)
    n_neutral: Mapped[int] = mapped_column(Integer, default=0)
    sum_score: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        Index("ix_rollups_dim_key_bucket", "grain", "dim", "key", "bucket"),
        # "What moved most" scans every key of one dimension over a time range.
        Index("ix_rollups_grain_dim_bucket", "grain", "dim", "bucket"),
    )


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200), index=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(32), default="warning")
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(index=True)
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    acked_by: Mapped[str | None] = mapped_column(String(200))
    acked_at: Mapped[datetime | None]


class AlertHistory(Base):
    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Silence(Base):
    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str | None] = mapped_column(String(200))  # None: every rule
    key: Mapped[str | None] = mapped_column(String(200))  # None: every scope key
    until: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # the alert state it announces
    receiver: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class Label(Base):
    """An analyst's label. One row per (article, task, analyst): a correction replaces it."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(16))  # topic | sentiment
    label: Mapped[int] = mapped_column(Integer)
    labeled_by: Mapped[str] = mapped_column(String(200))
    labeled_at: Mapped[datetime] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text, default="")  # what the analyst saw

    __table_args__ = (
        Index("ux_labels_article_task_who", "article_id", "task", "labeled_by", unique=True),
    )


class ModelVersion(Base):
    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_champion: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    notes: Mapped[str] = mapped_column(Text, default="")


class ModelPromotion(Base):
    """Every change of champion, so that ``rollback`` knows the previous one."""

    __tablename__ = "model_promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"))
    previous: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200), default="finpulse")


class ShadowRun(Base):
    """A period in which a challenger scores the live stream beside one champion.

    At most one run is open (``ended_at`` is None) and its version has status 'shadow'. A run
    compares one pair, so any change of champion ends it: outcome 'promoted' when the challenger
    itself became champion, else 'champion_changed' (not promoted). Other outcomes: 'stopped'
    (by hand) and 'replaced' (another challenger went into shadow). ``promote_after``: promote
    the challenger once the shadow period is over (challengers that passed the retraining gate).
    """

    __tablename__ = "shadow_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"), index=True)
    champion: Mapped[str] = mapped_column(String(64))
    promote_after: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(200), default="finpulse")
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")


class ShadowPrediction(Base):
    """One article as the champion (from ``news.classified``) and the challenger in shadow saw
    it. One row per (challenger, article): a replay rewrites it. No foreign key to ``articles``:
    the shadow scorer and the sink read the topic independently, so a row may come first."""

    __tablename__ = "shadow_predictions"

    challenger_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    champion_version: Mapped[str] = mapped_column(String(64))
    champion_topic: Mapped[str] = mapped_column(String(64))
    champion_topic_confidence: Mapped[float] = mapped_column(Float)
    champion_sentiment: Mapped[str] = mapped_column(String(16))
    champion_sentiment_confidence: Mapped[float] = mapped_column(Float)
    challenger_topic: Mapped[str] = mapped_column(String(64))
    challenger_topic_confidence: Mapped[float] = mapped_column(Float)
    challenger_sentiment: Mapped[str] = mapped_column(String(16))
    challenger_sentiment_confidence: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[datetime]

    __table_args__ = (
        # A shadow run's rows: one challenger against one champion since the run started.
        Index("ix_shadow_predictions_pair", "challenger_version", "champion_version", "scored_at"),
    )


class DeadLetterRow(Base):
    """Dead letters copied from ``news.dlq`` by the sink, so the dashboard can count them."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dlq_partition: Mapped[int] = mapped_column(Integer)
    dlq_offset: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(64), index=True)
    error: Mapped[str] = mapped_column(Text)
    error_type: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        Index("ux_dead_letters_pos", "dlq_partition", "dlq_offset", unique=True),
    )


class SourceStatus(Base):
    """Per ingest source: last success and counters (written by ingest, read by the dashboard)."""

    __tablename__ = "source_status"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    last_attempt: Mapped[datetime | None]
    last_success: Mapped[datetime | None]
    found: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_article: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_not_article: Mapped[str | None] = mapped_column(Text)


class PartRestart(Base):
    """A part that exited and was started again by ``finpulse up``'s supervisor (read by the
    watchdog's crash-loop check and the Pipeline health page)."""

    __tablename__ = "part_restarts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    part: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(200))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_part_restarts_part_at", "part", "at"),)


class ApiKey(Base):
    """A key for the HTTP API (``store/queries/api_keys.py``). Only a SHA-256 of the whole key
    is kept; ``prefix`` (its first, non-secret part) finds the row. ``scopes``: comma-separated,
    sorted. Revoked keys stay, so a name is never reused."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
