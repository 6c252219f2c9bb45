"""The read API under concurrent clients: p50 and p99 of ``GET /v1/series`` (24 h, hourly, by
topic) and ``GET /v1/articles`` (the first page, newest first) at 1,000,000 articles, beside
the same query function called directly in the same run (what HTTP, the key check and JSON
cost on top of the query).

    .venv/bin/python bench/api.py [--articles 1000000] [--backends sqlite,postgresql]
        [--clients 1,8] [--requests 1000] [--keep DIR]

The database is seeded as ``bench/dashboard_queries.py`` seeds it (``--keep`` reuses it); the
windows end at the newest stored article (rounded up to the minute), so a kept database is
read over the same rows on every run however long ago it was seeded. The API runs as its own
process (``finpulse api``), as in production; each client is a thread with its own HTTP
connection. ``--requests`` is per endpoint and client level (1,000 by default: at 200 the p99
was the second-slowest request). Goal: p99 < 100 ms for both.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from dashboard_queries import prepare
from sqlalchemy import func, select

from bench.machine import describe
from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import session_factory
from store.queries import articles, trends
from store.queries.api_keys import create_key

TARGET_MS = 100.0
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_api(db: DatabaseSettings, port: int) -> subprocess.Popen:
    env = {**os.environ, "FINPULSE_DATABASE__URL": db.url, "FINPULSE_API__PORT": str(port),
           "FINPULSE_API__RATE_PER_MINUTE": "1000000", "FINPULSE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "system", "api"], cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the API did not come up within 60 s")


def percentiles(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def over_http(port: int, key: str, path: str, params: dict, clients: int, n: int) -> list[float]:
    def worker(count: int) -> list[float]:
        out = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            client.get(path, params=params).raise_for_status()  # warm the connection
            for _ in range(count):
                t0 = time.perf_counter()
                client.get(path, params=params).raise_for_status()
                out.append((time.perf_counter() - t0) * 1000)
        return out

    with ThreadPoolExecutor(clients) as pool:
        return [x for part in pool.map(worker, [n // clients] * clients) for x in part]


def directly(db: DatabaseSettings, call: Callable, n: int) -> list[float]:
    sessions, out = session_factory(db), []
    for _ in range(n):
        t0 = time.perf_counter()
        with sessions() as s:
            call(s)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def newest(db: DatabaseSettings) -> datetime:
    """The newest article's time rounded up to the minute: where the windows end."""
    with session_factory(db)() as s:
        t = s.scalar(select(func.max(m.Article.published)))
    if t is None:
        raise SystemExit(f"{db.url}: no articles")
    whole = t.replace(second=0, microsecond=0)
    return whole if whole == t else whole + timedelta(minutes=1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=1_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--postgres-url", default=os.environ.get("FINPULSE_TEST_POSTGRES_URL"))
    p.add_argument("--clients", default="1,8", help="concurrent clients, comma-separated levels")
    p.add_argument("--requests", type=int, default=1000, help="requests per endpoint and level")
    p.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the seeded databases")
    args = p.parse_args()
    print(f"machine: {describe()}", flush=True)
    seeded_for = datetime.now(UTC).replace(second=0, microsecond=0)
    worst = 0.0
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        db, cleanup = prepare(backend, args.articles, seeded_for, args.postgres_url, args.keep)
        port, proc = free_port(), None
        try:
            now = newest(db)
            end, start = now, now - timedelta(hours=24)
            series_params = {"scope": "topic", "metric": "mean_sentiment", "granularity": "hour",
                             "from": start.isoformat(), "to": end.isoformat()}
            article_params = {"limit": 100, "from": (now - timedelta(days=7)).isoformat(),
                              "to": end.isoformat()}
            print(f"{backend}: windows end at {now.isoformat()} (the newest article)", flush=True)
            with session_factory(db).begin() as s:
                _, key = create_key(s, f"bench-{time.time_ns()}", ["read"], now=datetime.now(UTC))
            proc = start_api(db, port)
            week = articles.ArticleFilter(start=now - timedelta(days=7), end=end)
            direct = {
                "/series": directly(db, lambda s, start=start, end=end: trends.series(
                    s, dim="topic", grain="hour", start=start, end=end, keys=None), args.requests),
                "/articles": directly(db, lambda s, f=week: articles.search(s, f, limit=100),
                                      args.requests),
            }
            for path, params in (("/series", series_params), ("/articles", article_params)):
                d50, d99 = percentiles(direct[path])
                print(f"{backend} {path}: query function alone p50 {d50:.1f} ms, p99 {d99:.1f} ms")
                for clients in [int(c) for c in args.clients.split(",")]:
                    ms = over_http(port, key, path, params, clients, args.requests)
                    p50, p99 = percentiles(ms)
                    worst = max(worst, p99)
                    flag = "" if p99 < TARGET_MS else f"  over the {TARGET_MS:.0f} ms goal"
                    print(f"{backend} {path}: {clients} client(s), {len(ms)} requests: p50 {p50:.1f} ms, "
                          f"p99 {p99:.1f} ms ({p50 / d50:.1f}x the query's p50){flag}", flush=True)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            cleanup()
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
