"""Detectors: pure functions from a rule and its bucket aggregates at a moment to an
``Observation`` (the metric, its baseline, the detector's score, and whether the condition
holds). Shared by the live engine and the backtest."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.aggregate import Counts, bucket_of
from alerts.metrics import counted, evidence_rank, metric_value
from alerts.rules import Rule

Lookup = Callable[[int], Counts | None]
TOP_EVIDENCE = 5
MIN_STD = 1e-6


@dataclass
class Observation:
    value: float | None
    score: float | None
    baseline: float | None
    window_start: float
    window_end: float
    counts: dict[str, int]
    count: int  # what min_count applies to
    evidence: list[dict[str, Any]] = field(default_factory=list)
    model_version: str | None = None

    def breached(self, rule: Rule) -> bool:
        """The firing condition: enough articles and the score past the bound."""
        return (
            self.score is not None
            and self.count >= rule.min_count
            and rule.detector.breached(self.score)
        )

    def still_breached(self, rule: Rule) -> bool:
        """The staying condition for a firing alert (hysteresis on the score)."""
        return (
            self.score is not None
            and self.count >= rule.min_count
            and rule.detector.still_breached(self.score)
        )


def window_counts(rule: Rule, lookup: Lookup, start: float, end: float) -> Counts:
    """Sum of the buckets whose start lies in [start, end)."""
    total = Counts()
    step = rule.bucket_s
    b = bucket_of(start, step)
    if b < start:
        b = int(b + step)
    while b < end:
        got = lookup(b)
        if got is not None:
            total.merge(got)
        b = int(b + step)
    return total


def current_window(rule: Rule, now: float) -> tuple[float, float]:
    """The window ending with the bucket that holds ``now``."""
    end = bucket_of(now, rule.bucket_s) + rule.bucket_s
    return end - rule.window, end


def baseline_anchor(rule: Rule, window_start: float) -> float:
    """Where the baseline ends: the last whole window of a fixed grid (multiples of the
    window since the epoch) before the current window, so the baseline only moves once per
    window while the current window slides bucket by bucket."""
    return math.floor(window_start / rule.window) * rule.window


def baseline_values(rule: Rule, lookup: Lookup, window_start: float,
                    known_since: float | None = None) -> list[float]:
    """The metric over each whole window in the trailing baseline. Windows where it is
    undefined, and windows from before anything was known (``known_since``: a quiet key is
    a zero, an unseen one is unknown), are skipped."""
    out: list[float] = []
    n = int((rule.detector.baseline or 0) // rule.window)
    floor = bucket_of(known_since, rule.bucket_s) if known_since is not None else None
    last_end = baseline_anchor(rule, window_start)
    for i in range(1, n + 1):
        end = last_end - (i - 1) * rule.window
        if floor is not None and end - rule.window < floor:
            break
        v = metric_value(rule.metric, window_counts(rule, lookup, end - rule.window, end))
        if v is not None:
            out.append(v)
    return out


def detector_score(rule: Rule, value: float, history: list[float]) -> tuple[float | None, float | None]:
    """(score, baseline mean) for the rule's detector; score None when there is too little
    baseline to judge."""
    det = rule.detector
    if det.type == "threshold":
        return value, None
    if len(history) < det.min_baseline_windows:
        return None, statistics.fmean(history) if history else None
    mean = statistics.fmean(history)
    if det.type == "zscore":
        std = statistics.pstdev(history)
        return (value - mean) / max(std, MIN_STD), mean
    if det.type == "ratio":
        return (value / mean if mean else (math.inf if value > 0 else 1.0)), mean
    # pct_change
    if mean == 0:
        return (math.inf if value > 0 else 0.0), mean
    return (value - mean) / abs(mean) * 100.0, mean


def observe(rule: Rule, lookup: Lookup, now: float, known_since: float | None = None,
            history: Callable[[float], list[float]] | None = None) -> Observation:
    """Evaluate ``rule`` on the aggregates visible through ``lookup`` at time ``now``
    (``known_since``: when its key was first seen, for the baseline; ``history``: a
    caching stand-in for ``baseline_values`` given the window start)."""
    start, end = current_window(rule, now)
    c = window_counts(rule, lookup, start, end)
    value = metric_value(rule.metric, c)
    score, base = (None, None)
    if value is not None:
        past: list[float] = []
        if rule.detector.baseline:
            past = history(start) if history else baseline_values(rule, lookup, start, known_since)
        score, base = detector_score(rule, value, past)
    evidence = sorted(c.evidence, key=evidence_rank(rule.metric), reverse=True)[:TOP_EVIDENCE]
    return Observation(
        value=value, score=score, baseline=base, window_start=start, window_end=end,
        counts={"articles": c.n, "bearish": c.bearish, "bullish": c.bullish, "neutral": c.neutral},
        count=counted(rule.metric, c), evidence=evidence, model_version=c.model_version,
    )
