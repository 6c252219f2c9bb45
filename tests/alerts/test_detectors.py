"""Pure rule logic: scopes and filters, metrics, detectors, the lifecycle and the engine over
plain dicts (the same code the faust worker runs over its tables)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.aggregate import contributions, scope_keys
from alerts.detectors import Observation, observe
from alerts.lifecycle import AlertState, step
from alerts.rule_state import RuleEngine
from alerts.rulefile import parse_rules
from alerts.webhooks import RetryPolicy, classify_status
from finpulse.http import retry_after_s as parse_retry_after
from tests.alerts.factory import classified

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def rules(body: str):
    return parse_rules("rules:\n" + body)


def one(body: str):
    return rules(body).rules[0]


BASE = """
  - name: r
    scope: {scope}
    metric: {metric}
    window: 60s
    bucket: 10s
    min_count: {min_count}
    detector: {detector}
"""


def rule(scope="ticker", metric="bearish_share", min_count=1, detector="{above: 0.5}", extra=""):
    return one(BASE.format(scope=scope, metric=metric, min_count=min_count, detector=detector) + extra)


def test_scope_keys_and_filters() -> None:
    msg = classified(sentiment="bearish", tickers=("JPM", "BAC"), topic="Financials", source="wire")
    assert scope_keys(rule("ticker"), msg) == ["BAC", "JPM"]
    assert scope_keys(rule("topic"), msg) == ["Financials"]
    assert scope_keys(rule("source"), msg) == ["wire"]
    assert scope_keys(rule("overall"), msg) == ["*"]
    assert scope_keys(rule(extra="    keys: [JPM]\n"), msg) == ["JPM"]
    copy = classified(sentiment="bearish", tickers=("JPM",), duplicate_of="x" * 32)
    assert scope_keys(rule(extra="    novel_only: true\n"), copy) == []
    assert scope_keys(rule(), copy) == ["JPM"]
    unsure = classified(sentiment="bearish", tickers=("JPM",), confidence=0.4)
    assert scope_keys(rule(extra="    min_confidence: 0.5\n"), unsure) == []


def feed(engine: RuleEngine, rs, msgs) -> None:
    for m in msgs:
        for c in contributions(rs.rules, m):
            engine.ingest(c, m.article.published.timestamp())


@pytest.mark.parametrize(("metric", "expected"), [
    ("count", 5), ("bearish_count", 3), ("bearish_share", 0.6), ("bullish_share", 0.2),
    ("net_sentiment", (3 * -0.85 + 0.85 + 0) / 5),
])
def test_metrics(metric: str, expected: float) -> None:
    r = rule(metric=metric)
    rs = rules(BASE.format(scope="ticker", metric=metric, min_count=1, detector="{above: 0}"))
    engine = RuleEngine(rs, {}, {}, lateness_s=0)
    sents = ["bearish", "bearish", "bearish", "bullish", "neutral"]
    feed(engine, rs, [classified(sentiment=s, tickers=("X",), published=T0 + timedelta(seconds=i))
                      for i, s in enumerate(sents)])
    fp = next(iter(engine.states))
    obs = observe(r, lambda b: engine._bucket(fp, b), (T0 + timedelta(seconds=10)).timestamp())
    assert obs.value == pytest.approx(expected)
    assert obs.counts == {"articles": 5, "bearish": 3, "bullish": 1, "neutral": 1}
    assert obs.evidence and len(obs.evidence) <= 5


def test_replayed_article_counts_once() -> None:
    rs = rules(BASE.format(scope="ticker", metric="count", min_count=1, detector="{above: 0}"))
    engine = RuleEngine(rs, {}, {}, lateness_s=0)
    m = classified(sentiment="bearish", tickers=("X",), published=T0)
    feed(engine, rs, [m, m, m])
    fp = next(iter(engine.states))
    obs = observe(rs.rules[0], lambda b: engine._bucket(fp, b), T0.timestamp() + 1)
    assert obs.value == 1


def test_counted_articles_are_remembered_only_while_they_could_count_again() -> None:
    rs = rules(BASE.format(scope="ticker", metric="count", min_count=1, detector="{above: 0}"))
    window = rs.rules[0].window
    engine = RuleEngine(rs, {}, {}, lateness_s=30)
    msgs = [classified(sentiment="bearish", tickers=("X",), published=T0 + timedelta(seconds=i))
            for i in range(50)]
    feed(engine, rs, msgs)
    assert len(engine.counted) == 50
    bucket_sizes = {len(json.dumps(v)) for v in engine.buckets.values()}
    engine.expire(T0.timestamp() + window + 30)  # all within window + lateness: remembered
    assert len(engine.counted) == 50
    engine.expire(T0.timestamp() + window + 30 + 19.5)  # the oldest 20 could count no more
    assert len(engine.counted) == 30
    fp = next(iter(engine.states))

    def total() -> int:
        return sum(engine._bucket(fp, int(b.rpartition("|")[2])).n for b in engine.buckets)

    before = total()
    feed(engine, rs, msgs[20:])  # the remembered ones, replayed: counted once still
    assert total() == before
    engine.expire(T0.timestamp() + 49 + window + 31)  # past it for all: a replay would be late
    assert len(engine.counted) == 0
    # Each bucket stays a few counters whatever it holds (it used to carry every article id).
    assert max(bucket_sizes) < 2000


def test_min_count_blocks_small_samples() -> None:
    rs = rules(BASE.format(scope="ticker", metric="bearish_share", min_count=3, detector="{above: 0.5}"))
    engine = RuleEngine(rs, {}, {}, lateness_s=0)
    feed(engine, rs, [classified(sentiment=s, tickers=("X",), published=T0)
                      for s in ("bearish", "bearish", "neutral")[:2]])
    assert engine.evaluate_all(T0.timestamp() + 1) == []  # 2 of 2 bearish: not a spike
    feed(engine, rs, [classified(sentiment="bearish", tickers=("X",), published=T0)])
    kinds = [c.transition.kind for c in engine.evaluate_all(T0.timestamp() + 1)]
    assert kinds == ["pending", "firing"]  # for: 0 fires at once


def _history_engine(detector: str, per_window: list[int], now_count: int):
    """count per ticker; 60s windows: one window each of ``per_window`` articles, then now."""
    rs = rules(BASE.format(scope="ticker", metric="count", min_count=1, detector=detector))
    engine = RuleEngine(rs, {}, {}, lateness_s=10_000)
    start = T0
    msgs = []
    for w, n in enumerate(per_window + [now_count]):
        msgs += [classified(tickers=("X",), published=start + timedelta(seconds=60 * w + i))
                 for i in range(n)]
    feed(engine, rs, msgs)
    now = (start + timedelta(seconds=60 * len(per_window) + 55)).timestamp()
    fp = next(iter(engine.states))
    return rs.rules[0], observe(rs.rules[0], lambda b: engine._bucket(fp, b), now)


def test_zscore_against_trailing_baseline() -> None:
    r, obs = _history_engine("{type: zscore, above: 3, baseline: 5m}", [2, 3, 2, 3, 2], 10)
    assert obs.baseline == pytest.approx(2.4)
    assert obs.score == pytest.approx((10 - 2.4) / 0.4898979, rel=1e-4)
    assert obs.breached(r)
    r, obs = _history_engine("{type: zscore, above: 3, baseline: 5m}", [2, 3, 2, 3, 2], 3)
    assert not obs.breached(r)


def test_ratio_and_pct_change() -> None:
    r, obs = _history_engine("{type: ratio, above: 3, baseline: 4m}", [2, 2, 2, 2], 8)
    assert obs.score == pytest.approx(4.0) and obs.breached(r)
    r, obs = _history_engine("{type: pct_change, above: 100, baseline: 4m}", [4, 4, 4, 4], 6)
    assert obs.score == pytest.approx(50.0) and not obs.breached(r)


def test_too_little_baseline_is_not_a_spike() -> None:
    r, obs = _history_engine("{type: zscore, above: 3, baseline: 5m}", [0, 0, 0, 0, 2], 50)
    assert obs.score is not None  # count windows with 0 articles are real zeros
    r, obs = _history_engine("{type: ratio, above: 3, baseline: 5m, min_baseline_windows: 10}", [2, 2], 50)
    assert obs.score is None and not obs.breached(r)


def test_lifecycle_pending_firing_hysteresis_repeat_resolved() -> None:
    r = one(BASE.format(scope="ticker", metric="bearish_share", min_count=1,
                        detector="{above: 0.6, clear: 0.3}") + "    for: 10s\n    repeat_interval: 30s\n")
    def obs(v: float) -> Observation:
        return Observation(value=v, score=v, baseline=None, window_start=0, window_end=60,
                           counts={}, count=10)

    st = AlertState(rule="r", key="X", fingerprint="fp")
    seen = []
    for t, v in [(0, 0.7), (5, 0.7), (10, 0.7), (20, 0.5), (41, 0.5), (45, 0.2), (50, 0.2)]:
        st, trs = step(r, st, obs(v), float(t))
        seen += [(t, tr.kind) for tr in trs]
    assert seen == [(0, "pending"), (10, "firing"), (41, "repeat"), (45, "resolved")]
    # pending that clears before `for` is cancelled, never fired
    st = AlertState(rule="r", key="X", fingerprint="fp")
    st, _ = step(r, st, obs(0.9), 0.0)
    st, trs = step(r, st, obs(0.1), 5.0)
    assert [t.kind for t in trs] == ["cancelled"] and not trs[0].notify


def test_retry_classification_and_backoff() -> None:
    assert classify_status(204) == "delivered"
    assert [classify_status(c) for c in (500, 503, 408, 429)] == ["retry"] * 4
    assert [classify_status(c) for c in (400, 401, 404, 410)] == ["permanent"] * 4
    p = RetryPolicy(max_attempts=6, base_s=2, max_s=60)
    assert [p.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 6, 9)] == [2, 4, 8, 16, 60, 60]
    assert p.delay(1, rng=lambda: 0.0) == 1.0  # jitter keeps at least half
    assert p.delay(1, retry_after=30, rng=lambda: 0.0) == 30
    assert p.delay(1, retry_after=600, rng=lambda: 0.0) == 60
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None


def test_late_articles_and_expiry() -> None:
    rs = rules(BASE.format(scope="ticker", metric="count", min_count=1, detector="{above: 100}"))
    engine = RuleEngine(rs, {}, {}, lateness_s=30)
    now = T0.timestamp()
    fresh = contributions(rs.rules, classified(tickers=("X",), published=T0 - timedelta(seconds=80)))
    stale = contributions(rs.rules, classified(tickers=("X",), published=T0 - timedelta(seconds=95)))
    future = contributions(rs.rules, classified(tickers=("X",), published=T0 + timedelta(hours=1)))
    assert engine.ingest(fresh[0], now)  # within window (60s) + lateness (30s)
    assert not engine.ingest(stale[0], now) and engine.late == 1
    assert engine.ingest(future[0], now)  # counted as published now
    assert len(engine.buckets) == 2 and len(engine.states) == 1
    assert engine.expire(now + 60) == 1  # the old bucket goes, the recent one stays
    assert engine.expire(now + 1000) == 1 and engine.states == {}  # and then the idle alert


def test_baseline_cache_sees_late_articles() -> None:
    r, _ = _history_engine("{type: ratio, above: 3, baseline: 4m}", [2, 2, 2, 2], 8)
    rs = rules(BASE.format(scope="ticker", metric="count", min_count=1,
                           detector="{type: ratio, above: 3, baseline: 4m}"))
    engine = RuleEngine(rs, {}, {}, lateness_s=10_000)
    feed(engine, rs, [classified(tickers=("X",), published=T0 + timedelta(seconds=60 * w + 1))
                      for w in range(4) for _ in range(2)])
    now = (T0 + timedelta(seconds=4 * 60 + 55)).timestamp()
    feed(engine, rs, [classified(tickers=("X",), published=T0 + timedelta(seconds=241 + i))
                      for i in range(8)])
    assert [c.transition.kind for c in engine.evaluate_all(now)] == ["pending", "firing"]
    for c in contributions(rs.rules, classified(tickers=("X",), published=T0 + timedelta(seconds=5))):
        for _ in range(20):  # a late flood into the baseline: ratio falls, the alert resolves
            late = c.__class__(**{**c.to_json(), "evidence": {**c.evidence, "article_id": f"l{_}"}})
            engine.ingest(late, now)
    assert [c.transition.kind for c in engine.evaluate_all(now + 1)] == ["resolved"]
