"""How long one timer evaluation of every alert takes, with and without the engine's baseline
cache: a z-score rule over a 24-hour baseline of 15-minute windows (1-minute buckets).

    .venv/bin/python bench/alerts_evaluation.py [--keys 200]

Prints both timings side by side and their ratio (run on the same machine, same data)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.aggregate import contributions
from alerts.rule_state import RuleEngine
from alerts.rulefile import parse_rules
from bench.machine import describe
from finpulse.schemas import TOPICS, Article, ClassifiedArticle, Prediction

RULES = parse_rules("""
rules:
  - name: volume
    scope: ticker
    metric: count
    window: 15m
    bucket: 1m
    detector: {type: zscore, above: 3, baseline: 24h}
""")


def article(i: int, ticker: str, when: datetime) -> ClassifiedArticle:
    a = Article(id=f"bench{i:012d}", source="bench", title="t", published=when, fetched=when,
                tickers=[ticker])
    p = Prediction(topic=TOPICS[0], topic_id=0, topic_confidence=1, topic_probs=[1.0],
                   sentiment="neutral", sentiment_confidence=1, sentiment_probs=[0, 0, 1],
                   sentiment_score=0, model_version="bench", latency_ms=0, classified_at=when)
    return ClassifiedArticle(article=a, prediction=p, tickers=[ticker])


def build(keys: int, now: datetime) -> RuleEngine:
    engine = RuleEngine(RULES, {}, {}, lateness_s=1e9)
    n = 0
    for minute in range(0, 24 * 60 + 15, 3):
        for k in range(0, keys, (minute % 5) + 1):
            for c in contributions(RULES.rules, article(n, f"T{k}", now - timedelta(minutes=minute))):
                engine.ingest(c, now.timestamp())
            n += 1
    return engine


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=200)
    args = ap.parse_args()
    print(f"machine: {describe()}", flush=True)
    now = datetime.now(UTC)
    engine = build(args.keys, now)
    ticks = [now.timestamp() + 5 * i for i in range(12)]  # a minute of 5-second timer ticks
    naive = timed(lambda: [engine._baselines.clear() or engine.evaluate_all(t) for t in ticks])
    cached = timed(lambda: [engine.evaluate_all(t) for t in ticks])
    print(f"{args.keys} keys, {len(engine.buckets)} buckets, 12 ticks (one minute at 5 s): "
          f"per tick uncached {naive / 12 * 1000:.0f} ms, cached {cached / 12 * 1000:.0f} ms, "
          f"ratio {naive / cached:.1f}x")


if __name__ == "__main__":
    main()
