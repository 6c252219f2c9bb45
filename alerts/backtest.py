"""Backtests: replay stored classified history through the same engine, detectors and
lifecycle the live worker uses, on a simulated clock (publication time), and list when each
rule would have gone pending, fired and resolved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from alerts.aggregate import contributions
from alerts.payloads import ts
from alerts.pipeline import Change
from alerts.rule_state import RuleEngine
from alerts.rules import RuleSet
from finpulse.schemas import ClassifiedArticle


@dataclass(frozen=True)
class Finding:
    at: datetime
    rule: str
    key: str
    kind: str  # pending | firing | repeat | resolved | cancelled
    value: float | None
    score: float | None
    baseline: float | None
    articles: int
    alert_id: str
    top_headline: str | None

    def line(self) -> str:
        val = "-" if self.value is None else f"{self.value:.4g}"
        base = "" if self.baseline is None else f" baseline={self.baseline:.4g}"
        head = f'  "{self.top_headline}"' if self.top_headline else ""
        return (f"{self.at:%Y-%m-%d %H:%M:%S}Z  {self.kind:<9} {self.rule}  key={self.key}  "
                f"value={val}{base}  articles={self.articles}{head}")


def _finding(ch: Change) -> Finding:
    ev = ch.obs.evidence
    return Finding(at=ts(ch.transition.at), rule=ch.rule.name, key=ch.key, kind=ch.transition.kind,
                   value=ch.obs.value, score=ch.obs.score, baseline=ch.obs.baseline,
                   articles=ch.obs.counts.get("articles", 0), alert_id=ch.transition.alert_id,
                   top_headline=ev[0]["title"] if ev else None)


def backtest(rules: RuleSet, history: Iterable[ClassifiedArticle], *, step_s: float | None = None,
             drain: bool = True) -> list[Finding]:
    """Every transition the rules would have produced over ``history`` (oldest first).
    The clock ticks every ``step_s`` (default: the smallest rule bucket) between articles,
    and after the last one until every window has closed (``drain``)."""
    if not rules.rules:
        return []
    step = step_s or min(r.bucket_s for r in rules.rules)
    engine = RuleEngine(rules, {}, {}, lateness_s=0.0)
    found: list[Finding] = []
    clock: float | None = None
    for n, msg in enumerate(history):
        t = msg.article.published.timestamp()
        clock = t if clock is None else clock
        clock = _tick_until(engine, clock, t, step, found)
        for c in contributions(rules.rules, msg):
            if engine.ingest(c, t):
                found.extend(_finding(ch) for ch in engine.evaluate(c.fingerprint, t))
        if n % 5000 == 4999:
            engine.expire(t)
    if drain and clock is not None:
        horizon = max(r.window + r.for_ for r in rules.rules) + step
        _tick_until(engine, clock, clock + horizon, step, found)
    return found


def _tick_until(engine: RuleEngine, clock: float, until: float, step: float, found: list[Finding]) -> float:
    while clock + step <= until:
        clock += step
        found.extend(_finding(ch) for ch in engine.evaluate_all(clock))
    return clock
