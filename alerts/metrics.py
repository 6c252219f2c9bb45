"""Metrics over a window's counts, and how much an article contributes to each (for picking
the headlines that explain an alert)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from alerts.aggregate import Counts


def metric_value(metric: str, c: Counts) -> float | None:
    """The metric over ``c``; None where it is undefined (a share of nothing)."""
    if metric == "count":
        return float(c.n)
    if metric == "bearish_count":
        return float(c.bearish)
    if c.n == 0:
        return None
    if metric == "bearish_share":
        return c.bearish / c.n
    if metric == "bullish_share":
        return c.bullish / c.n
    if metric == "net_sentiment":
        return c.sum_score / c.n
    raise ValueError(f"unknown metric {metric!r}")


def counted(metric: str, c: Counts) -> int:
    """The count that ``min_count`` applies to: bearish stories for bearish_count, else all."""
    return c.bearish if metric == "bearish_count" else c.n


def evidence_rank(metric: str) -> Callable[[dict[str, Any]], float]:
    """Higher ranks first: the most bearish stories explain bearish metrics, the most
    bullish explain bullish share, the most extreme explain net sentiment, the newest
    explain counts."""
    if metric in ("bearish_share", "bearish_count"):
        return lambda e: -float(e["sentiment_score"])
    if metric == "bullish_share":
        return lambda e: float(e["sentiment_score"])
    if metric == "net_sentiment":
        return lambda e: abs(float(e["sentiment_score"]))
    return lambda e: _epoch(e["published"])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
