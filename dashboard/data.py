"""Cached reads for the pages: thin wrappers over the query functions in ``store/queries``.

The engine is cached (``st.cache_resource``, one per database URL); each read opens a short
session of its own and closes it; results are cached for a few seconds (``st.cache_data``), so
a page full of widgets and a self-refreshing overview do not hammer the database. Writes go
through ``write()``, which owns the transaction, then clear the caches they invalidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from finpulse.lag import consumer_lag as read_lag
from finpulse.probe import is_reachable
from finpulse.settings import DatabaseSettings, KafkaSettings
from store.db import session_factory
from store.queries import articles, dashboard, health, labels, shadow, trends, watchdog

TTL_S = 5
T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _sessions(url: str, echo: bool) -> sessionmaker[Session]:
    return session_factory(DatabaseSettings(url=url, echo=echo))


@contextmanager
def _read(url: str):  # a context manager of Session
    with _sessions(url, False)() as session:
        yield session


def write(db: DatabaseSettings, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one write query function in its own transaction, then drop cached reads."""
    with _sessions(db.url, db.echo).begin() as session:
        result = fn(session, *args, **kwargs)
    st.cache_data.clear()
    return result


def _frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=list(columns))
    if isinstance(rows[0], dict):
        return pd.DataFrame(rows, columns=list(columns))
    return pd.DataFrame([r.__dict__ for r in rows], columns=list(columns))


POINT_COLUMNS = ["bucket", "key", "n", "n_novel", "n_bearish", "n_bullish", "n_neutral",
                 "sum_score"]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def series(url: str, dim: str, grain: str, start: datetime, end: datetime,
           keys: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Rollup series (grain 'day' is summed by the database from the hourly rollups)."""
    with _read(url) as s:
        rows = trends.series(s, dim=dim, grain=grain, start=start, end=end, keys=keys)
    df = _frame(rows, POINT_COLUMNS)
    if not df.empty:
        df["bucket"] = pd.to_datetime(df["bucket"], utc=True)
        df["net_sentiment"] = df["sum_score"] / df["n"]
    return df


@st.cache_data(ttl=TTL_S, show_spinner=False)
def movers(url: str, dim: str, grain: str, start: datetime, end: datetime) -> pd.DataFrame:
    query_grain = "hour" if grain == "day" else grain
    with _read(url) as s:
        rows = trends.movers(s, dim=dim, grain=query_grain, start=start, end=end)
    return _frame(rows, ["key", "n", "baseline", "ratio", "net_sentiment"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latest_bucket(url: str) -> datetime | None:
    with _read(url) as s:
        return trends.latest_bucket(s)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def latest_alerts(url: str, limit: int = 10, states: tuple[str, ...] = (),
                  since: datetime | None = None) -> pd.DataFrame:
    with _read(url) as s:
        rows = dashboard.latest_alerts(s, limit=limit, states=states, since=since)
    return _frame(rows, dashboard.ALERT_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def alerts_for(url: str, scope: str, key: str, start: datetime, end: datetime) -> pd.DataFrame:
    with _read(url) as s:
        rows = dashboard.alerts_for(s, scope=scope, key=key, start=start, end=end)
    return _frame(rows, dashboard.ALERT_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def alert_detail(url: str, alert_id: str) -> dict[str, Any] | None:
    with _read(url) as s:
        return dashboard.alert_detail(s, alert_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def active_silences(url: str, now: datetime) -> pd.DataFrame:
    with _read(url) as s:
        rows = dashboard.active_silences(s, now=now)
    return _frame(rows, ["id", "rule", "key", "until", "created_by", "reason", "created_at"])


ARTICLE_COLUMNS = ["published", "title", "url", "source", "topic", "topic_confidence",
                   "sentiment", "sentiment_confidence", "sentiment_score", "tickers",
                   "language", "duplicate_of", "model_version", "id"]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def search_articles(url: str, f: articles.ArticleFilter, limit: int = 500) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(articles.search(s, f, limit=limit), ARTICLE_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def headlines(url: str, dim: str, key: str, start: datetime, end: datetime) -> pd.DataFrame:
    with _read(url) as s:
        rows = articles.headlines(s, dim=dim, key=key, start=start, end=end)
    return _frame(rows, ARTICLE_COLUMNS)


@st.cache_data(ttl=60, show_spinner=False)
def sources(url: str) -> list[str]:
    with _read(url) as s:
        return articles.sources(s)


@st.cache_data(ttl=60, show_spinner=False)
def languages(url: str, since: datetime) -> list[str]:
    with _read(url) as s:
        return articles.languages(s, since=since)


@st.cache_data(ttl=60, show_spinner=False)
def tickers(url: str, start: datetime, end: datetime) -> list[str]:
    """Tickers seen in the window, busiest first (for pickers)."""
    with _read(url) as s:
        found = trends.totals(s, dim="ticker", grain="hour", start=start, end=end)
    return [k for k, _ in sorted(found.items(), key=lambda kv: (-kv[1].n, kv[0]))]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def label_queue(url: str, since: datetime, exclude: tuple[str, ...], limit: int = 20
                ) -> list[labels.QueueItem]:
    with _read(url) as s:
        return labels.queue(s, since=since, exclude=exclude, limit=limit)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def retraining_progress(url: str, every: int) -> dict[str, Any]:
    with _read(url) as s:
        return labels.retraining_progress(s, every=every)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def recent_labels(url: str, by: str | None = None) -> pd.DataFrame:
    with _read(url) as s:
        rows = labels.recent_labels(s, by=by)
    return _frame(rows, ["article_id", "title", "task", "label", "labeled_by", "labeled_at"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def model_versions(url: str) -> list[dict[str, Any]]:
    with _read(url) as s:
        return dashboard.model_versions(s)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def promotions(url: str) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(dashboard.promotions(s), dashboard.PROMOTION_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def rollback_target(url: str) -> str | None:
    with _read(url) as s:
        return dashboard.rollback_target(s)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shadow_status(url: str, min_minutes: float, min_articles: int) -> dict[str, Any] | None:
    """The open shadow run and its progress (None: no challenger in shadow)."""
    with _read(url) as s:
        return shadow.shadow_status(s, min_minutes=min_minutes, min_articles=min_articles,
                                    now=datetime.now(UTC))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shadow_agreement(url: str, pair: shadow.Pair) -> dict[str, Any]:
    with _read(url) as s:
        return shadow.agreement(s, pair)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shadow_confusion(url: str, pair: shadow.Pair, task: str) -> pd.DataFrame:
    """Champion labels as rows, challenger labels as columns, article counts in the cells."""
    with _read(url) as s:
        long = _frame(shadow.confusion(s, pair, task), ["champion", "challenger", "n"])
    if long.empty:
        return long
    table = long.pivot_table(index="champion", columns="challenger", values="n", fill_value=0,
                             aggfunc="sum")
    return table.rename_axis(index="champion ↓  challenger →", columns=None)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shadow_disagreements(url: str, pair: shadow.Pair) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(shadow.disagreements(s, pair), shadow.DISAGREEMENT_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def shadow_runs(url: str) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(shadow.run_history(s), shadow.RUN_COLUMNS)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def dead_letter_counts(url: str, since: datetime) -> pd.DataFrame:
    with _read(url) as s:
        rows = health.dead_letter_counts(s, since=since)
    return _frame(rows, ["stage", "error_type", "n", "last"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def recent_dead_letters(url: str) -> pd.DataFrame:
    with _read(url) as s:
        rows = health.recent_dead_letters(s)
    return _frame(rows, ["at", "stage", "error_type", "error", "source", "url"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def source_status(url: str) -> pd.DataFrame:
    with _read(url) as s:
        rows = health.source_status(s)
    return _frame(rows, ["name", "type", "last_attempt", "last_success", "found", "new",
                         "duplicate", "failed", "not_article", "last_error", "last_not_article"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def watchdog_status(url: str) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(watchdog.watchdog_status(s),
                      ["rule", "key", "state", "severity", "reason", "since", "updated"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def part_restarts(url: str, since: datetime) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(watchdog.restarts_since(s, since), ["part", "n", "last", "exit_code"])


@st.cache_data(ttl=TTL_S, show_spinner=False)
def classified_per_model(url: str) -> pd.DataFrame:
    with _read(url) as s:
        return _frame(health.classified_per_model(s), ["model_version", "n"])


@st.cache_data(ttl=10, show_spinner=False)
def broker_up(bootstrap_servers: str) -> bool:
    """Whether the Kafka broker answers (cached briefly; a down broker costs one timeout)."""
    return is_reachable(bootstrap_servers, timeout_s=0.5)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def champion(url: str) -> dict[str, Any] | None:
    with _read(url) as s:
        return dashboard.champion(s)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def consumer_lag(bootstrap_servers: str, group_prefix: str, client_id: str) -> pd.DataFrame:
    """Lag per group and partition; raises BrokerDown (not cached) when Kafka is away."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap_servers, group_prefix=group_prefix,
                          client_id=client_id)
    return _frame([lag.__dict__ for lag in read_lag(kafka)],
                  ["group", "topic", "partition", "committed", "end", "lag"])
