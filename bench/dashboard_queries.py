"""Every dashboard page's queries against a database of N stored articles (default 1,000,000),
on SQLite and PostgreSQL; prints one table of timings (target: each under 300 ms).

    .venv/bin/python bench/dashboard_queries.py [--articles 1000000] [--backends sqlite,postgresql]
        [--postgres-url postgresql+psycopg://postgres@localhost:5432/postgres] [--keep DIR]
        [--repeat 5] [--sqlite-optimize]

Each query runs once to warm up, then ``--repeat`` times; the median is shown. The "naive"
rows are the old ways, measured in the same run for the ratios printed under the table: a time
series as a GROUP BY over raw articles (against the rollups); headline search as a LIKE over
the time window without the search index (on PostgreSQL the trigram index is dropped inside
a transaction that is rolled back); the ticker filter as an EXISTS per article in the window
(against the ``article_tickers (ticker, published)`` range). With ``--keep``, a database kept
from an earlier run is migrated to the current schema first (the migration time is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_seed import seed
from sqlalchemy import create_engine, exists, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import get_engine, session_factory
from store.migrate import current, upgrade
from store.queries import articles, dashboard, health, labels, text_search, trends

TARGET_MS = 300
Query = Callable[[Session], object]


def queries(now: datetime) -> list[tuple[str, str, Query]]:
    """(page, what, call) for every query a page makes, with realistic arguments."""
    day, week, q90 = now - timedelta(hours=24), now - timedelta(days=7), now - timedelta(days=90)
    hour = now - timedelta(hours=1)
    f = articles.ArticleFilter
    return [
        ("overview", "series all 24h/hour", lambda s: trends.series(
            s, dim="all", grain="hour", start=day, end=now)),
        ("overview", "series topic 24h/hour", lambda s: trends.series(
            s, dim="topic", grain="hour", start=day, end=now)),
        ("overview", "series topic 1h/minute", lambda s: trends.series(
            s, dim="topic", grain="minute", start=hour, end=now)),
        ("overview", "series topic 90d/day", lambda s: trends.series(
            s, dim="topic", grain="day", start=q90, end=now)),
        ("overview", "series topic 7d/hour", lambda s: trends.series(
            s, dim="topic", grain="hour", start=week, end=now)),
        ("overview", "movers topic 24h", lambda s: trends.movers(
            s, dim="topic", grain="hour", start=day, end=now)),
        ("overview", "movers ticker 24h", lambda s: trends.movers(
            s, dim="ticker", grain="hour", start=day, end=now)),
        ("overview", "movers ticker 1h/minute", lambda s: trends.movers(
            s, dim="ticker", grain="minute", start=hour, end=now)),
        ("overview", "latest alerts + newest bucket", lambda s: (
            dashboard.latest_alerts(s, limit=10), trends.latest_bucket(s),
            dashboard.champion(s))),
        ("drill-down", "ticker list 7d", lambda s: trends.totals(
            s, dim="ticker", grain="hour", start=week, end=now)),
        ("drill-down", "series one ticker 7d", lambda s: trends.series(
            s, dim="ticker", grain="hour", start=week, end=now, keys=["T000"])),
        ("drill-down", "alerts on key 7d", lambda s: dashboard.alerts_for(
            s, scope="topic", key="Earnings", start=week, end=now)),
        ("drill-down", "headlines topic 1 hour", lambda s: articles.headlines(
            s, dim="topic", key="Earnings", start=hour, end=now)),
        ("drill-down", "headlines ticker 1 hour", lambda s: articles.headlines(
            s, dim="ticker", key="T000", start=hour, end=now)),
        ("articles", "search 24h, no filter", lambda s: articles.search(s, f(start=day, end=now))),
        ("articles", "search 24h, text", lambda s: articles.search(
            s, f(start=day, end=now, text="earnings headline 1"))),
        ("articles", "search 7d, text", lambda s: articles.search(
            s, f(start=week, end=now, text="earnings headline 1"))),
        ("articles", "search 7d, ticker+sentiment", lambda s: articles.search(
            s, f(start=week, end=now, tickers=("T001",), sentiments=("bearish",)))),
        ("articles", "search 7d, common text", lambda s: articles.search(
            s, f(start=week, end=now, text="headline"))),
        ("articles", "search 90d, rare ticker", lambda s: articles.search(
            s, f(start=q90, end=now, tickers=("T450",)))),
        ("articles", "search 7d, 3 tickers+sentiment", lambda s: articles.search(
            s, f(start=week, end=now, tickers=("T000", "T001", "T300"),
                 sentiments=("bullish",)))),
        ("articles", "search 90d, rare source+lang", lambda s: articles.search(
            s, f(start=q90, end=now, sources=("source-07",), languages=("fr",),
                 duplicates="only", min_confidence=0.9))),
        ("articles", "pickers: sources, languages", lambda s: (
            articles.sources(s), articles.languages(s, since=day))),
        ("alerts", "alerts 7d + detail + silences", lambda s: (
            dashboard.latest_alerts(s, limit=200, states=("firing", "pending"), since=week),
            dashboard.alert_detail(s, "alert-0"), dashboard.active_silences(s, now=now))),
        ("labeling", "queue 7d", lambda s: labels.queue(s, since=week)),
        ("labeling", "retraining progress", lambda s: labels.retraining_progress(s, every=500)),
        ("models", "versions + promotions", lambda s: (
            dashboard.model_versions(s), dashboard.promotions(s))),
        ("pipeline", "throughput 1h/minute", lambda s: trends.series(
            s, dim="all", grain="minute", start=hour, end=now)),
        ("pipeline", "model mix of newest 2000", lambda s: health.classified_per_model(s)),
        ("pipeline", "dead letters + sources", lambda s: (
            health.dead_letter_counts(s, since=day), health.source_status(s))),
        ("naive", "topic volume 90d from raw rows", lambda s: s.execute(
            select(m.Prediction.topic, func.count()).join(
                m.Article, m.Article.id == m.Prediction.article_id)
            .where(m.Article.published >= q90).group_by(m.Prediction.topic)).all()),
        ("naive", "search 7d, text: LIKE scan", without_index("ix_articles_title_trgm", (
            lambda s: naive_search(s, f(start=week, end=now, text="earnings headline 1"))))),
        ("naive", "search 7d, ticker+sent.: EXISTS", lambda s: naive_search(
            s, f(start=week, end=now, tickers=("T001",), sentiments=("bearish",)))),
        ("naive", "search 90d, rare ticker: EXISTS", lambda s: naive_search(
            s, f(start=q90, end=now, tickers=("T450",)))),
    ]


RATIOS = [  # (what, ours, the naive way)
    ("90-day topic volume: rollups vs raw rows", ("overview", "series topic 90d/day"),
     ("naive", "topic volume 90d from raw rows")),
    ("7-day headline search: index vs LIKE scan", ("articles", "search 7d, text"),
     ("naive", "search 7d, text: LIKE scan")),
    ("7-day ticker+sentiment: ticker range vs EXISTS", ("articles", "search 7d, ticker+sentiment"),
     ("naive", "search 7d, ticker+sent.: EXISTS")),
    ("90-day rare ticker: ticker range vs EXISTS", ("articles", "search 90d, rare ticker"),
     ("naive", "search 90d, rare ticker: EXISTS")),
]


def naive_search(s: Session, f: articles.ArticleFilter, limit: int = 500) -> list:
    """The Articles query before the search indexes: the time window read newest first, with
    the headline LIKE and an EXISTS per article for tickers."""
    a, p, t = m.Article, m.Prediction, m.ArticleTicker
    dialect = s.get_bind().dialect.name
    stmt = (select(*articles.COLUMNS).join(p, p.article_id == a.id)
            .where(a.published >= f.start, a.published < f.end))
    if f.text:
        stmt = stmt.where(text_search.contains(a.title, f.text))
    if f.sentiments:
        stmt = stmt.where(articles.unindexed(p.sentiment, dialect).in_(f.sentiments))
    if f.tickers:
        stmt = stmt.where(exists().where(t.article_id == a.id, t.ticker.in_(f.tickers)))
    rows = [dict(r._mapping) for r in s.execute(
        stmt.order_by(a.published.desc(), a.id).limit(limit))]
    articles._attach_tickers(s, rows)
    return rows


def without_index(name: str, call: Query) -> Query:
    """``call`` on PostgreSQL with index ``name`` dropped in a transaction rolled back after."""
    def run(s: Session) -> object:
        if s.get_bind().dialect.name != "postgresql":
            return call(s)
        try:
            s.execute(text(f"DROP INDEX IF EXISTS {name}"))
            return call(s)
        finally:
            s.rollback()
    return run


def time_ms(sessions, call: Query, repeat: int) -> float:
    with sessions() as s:
        call(s)  # warm-up
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            call(s)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def after_optimize(db: DatabaseSettings, now: datetime, repeat: int) -> dict:
    """The queries again after ``PRAGMA optimize`` on the connection that ran them (what
    running it on close would do; before SQLite 3.46 that is a full ANALYZE of every table
    they used). The statistics are dropped afterwards: finpulse runs without them."""
    engine = get_engine(db)
    with engine.connect() as conn:
        t0 = time.perf_counter()
        conn.exec_driver_sql("PRAGMA optimize")
        conn.commit()
        stats = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar() and \
            conn.exec_driver_sql("SELECT count(DISTINCT tbl) FROM sqlite_stat1").scalar()
        print(f"  sqlite: PRAGMA optimize analyzed {stats} tables in "
              f"{time.perf_counter() - t0:.1f}s", flush=True)
    engine.dispose()  # new connections load the statistics
    try:
        return {(page, what): time_ms(session_factory(db), call, repeat)
                for page, what, call in queries(now)}
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
        engine.dispose()


def prepare(backend: str, n: int, now: datetime, pg_url: str | None, keep: Path | None
            ) -> tuple[DatabaseSettings, Callable[[], None]]:
    if backend == "sqlite":
        folder = keep or Path(tempfile.mkdtemp(prefix="finpulse-bench-"))
        path = folder / f"bench-{n}.db"
        db = DatabaseSettings(url=f"sqlite:///{path}")
        fresh = not path.exists()
        cleanup = (lambda: None) if keep else (lambda: [p.unlink() for p in folder.glob("*")])
    else:
        if not pg_url:
            raise SystemExit("--postgres-url (or FINPULSE_TEST_POSTGRES_URL) is needed")
        name = f"finpulse_bench_{n}" if keep else f"finpulse_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            fresh = not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": name}).first()
            if fresh:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        db = DatabaseSettings(url=make_url(pg_url).set(database=name).render_as_string(
            hide_password=False))

        def cleanup() -> None:
            get_engine(db).dispose()
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    before = None if fresh else current(db)
    t0 = time.perf_counter()
    upgrade(db)
    if before != current(db):
        print(f"  {backend}: migrated {before or 'an empty database'} -> {current(db)} in "
              f"{time.perf_counter() - t0:.0f}s", flush=True)
    if fresh:
        t0 = time.perf_counter()
        seed(get_engine(db), n, now, progress=lambda msg: print(f"  {backend}: {msg}",
                                                                 flush=True))
        print(f"  {backend}: seeded in {time.perf_counter() - t0:.0f}s", flush=True)
    return db, cleanup


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=1_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--postgres-url", default=os.environ.get("FINPULSE_TEST_POSTGRES_URL"))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--keep", type=Path, default=None,
                   help="keep the seeded databases (SQLite file in DIR; PG database by name)")
    p.add_argument("--sqlite-optimize", action="store_true",
                   help="also measure SQLite after PRAGMA optimize (column sqlite+optimize)")
    args = p.parse_args()
    print(f"machine: {describe()}", flush=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results: dict[str, dict[tuple[str, str], float]] = {}
    for backend in backends:
        db, cleanup = prepare(backend, args.articles, now, args.postgres_url, args.keep)
        try:
            sessions = session_factory(db)
            with sessions() as s:
                stored = s.execute(select(func.count()).select_from(m.Article)).scalar_one()
            print(f"  {backend}: {stored:,} articles stored", flush=True)
            results[backend] = {(page, what): time_ms(sessions, call, args.repeat)
                                for page, what, call in queries(now)}
            if backend == "sqlite" and args.sqlite_optimize:
                results["sqlite+optimize"] = after_optimize(db, now, args.repeat)
        finally:
            cleanup()
    print_table(results, list(results), args.articles)
    slow = [k for r in results.values() for k, v in r.items() if v > TARGET_MS and k[0] != "naive"]
    return 1 if slow else 0


def print_table(results: dict, backends: list[str], n: int) -> None:
    keys = list(next(iter(results.values())))
    print(f"\nDashboard queries with {n:,} articles (median ms; target < {TARGET_MS} ms)")
    header = f"{'page':<11} {'query':<35}" + "".join(f"{b:>16}" for b in backends)
    print(header)
    print("-" * len(header))
    for key in keys:
        cells = "".join(f"{results[b][key]:>15.1f}{'!' if results[b][key] > TARGET_MS else ' '}"
                        for b in backends)
        print(f"{key[0]:<11} {key[1]:<35}{cells}")
    for b in backends:
        for what, ours, naive in RATIOS:
            x, y = results[b][ours], results[b][naive]
            print(f"{b}: {what}: {x:.1f} ms vs {y:.1f} ms ({y / x:.1f}x)")
    worst = max((v, b, k) for b in backends for k, v in results[b].items() if k[0] != "naive")
    print(f"slowest page query: {worst[2][0]} / {worst[2][1]} on {worst[1]}: {worst[0]:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
