"""Alert rules: the YAML file format and its validation (reading files: ``alerts.rulefile``).

A rules file is a mapping with a ``rules`` list; each rule names a scope, a metric over a
window, a detector and the lifecycle around it::

    rules:
      - name: bank-bearish-burst
        scope: ticker            # overall | topic | ticker | source
        keys: [JPM, BAC]         # optional: only these scope keys (default: every key)
        metric: bearish_share    # count | bearish_count | bearish_share | bullish_share | net_sentiment
        novel_only: true         # skip syndicated copies (duplicate_of set)
        min_confidence: 0.6      # skip predictions less sure than this
        window: 15m
        min_count: 5             # fewer articles in the window: never a spike
        detector: {type: threshold, above: 0.6, clear: 0.4}
        for: 2m                  # pending this long before firing
        repeat_interval: 1h
        severity: critical
        labels: {team: banks}
        receivers: [ops]         # default: every configured receiver
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from alerts.durations import format_duration, parse_duration
from finpulse.schemas import TOPICS

Scope = Literal["overall", "topic", "ticker", "source"]
Metric = Literal["count", "bearish_count", "bearish_share", "bullish_share", "net_sentiment"]
DetectorType = Literal["threshold", "zscore", "ratio", "pct_change"]
Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Detector(_Strict):
    """What makes the metric a spike. The detector's *score* is the metric itself
    (threshold), its z-score against the baseline (zscore), its ratio to the baseline mean
    (ratio) or its percent change from it (pct_change). The condition holds when the score
    is above ``above`` (or below ``below``); once firing, it clears only when the score is
    back past ``clear`` (hysteresis; default: the firing bound)."""

    type: DetectorType = "threshold"
    above: float | None = None
    below: float | None = None
    clear: float | None = None
    baseline: Duration | None = None  # trailing period of same-size windows (not threshold)
    min_baseline_windows: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> Detector:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if self.clear is not None:
            if self.above is not None and self.clear > self.above:
                raise ValueError(f"clear ({self.clear}) must not exceed above ({self.above})")
            if self.below is not None and self.clear < self.below:
                raise ValueError(f"clear ({self.clear}) must not be less than below ({self.below})")
        if self.type == "threshold" and self.baseline is not None:
            raise ValueError("a threshold detector takes no baseline (use zscore, ratio or pct_change)")
        if self.type != "threshold" and not self.baseline:
            raise ValueError(f"a {self.type} detector needs a 'baseline' duration, e.g. '24h'")
        return self

    @property
    def bound(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    @property
    def clear_bound(self) -> float:
        return self.clear if self.clear is not None else self.bound

    def breached(self, score: float) -> bool:
        return score > self.bound if self.above is not None else score < self.bound

    def still_breached(self, score: float) -> bool:
        """Hysteresis: a firing alert stays firing until the score is back past ``clear``."""
        c = self.clear_bound
        return score > c if self.above is not None else score < c


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")
    scope: Scope
    keys: list[str] | None = None
    metric: Metric
    novel_only: bool = False
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    window: Duration
    bucket: Duration | None = None
    min_count: int = Field(default=1, ge=1)
    detector: Detector
    for_: Duration = Field(default=0.0, alias="for")
    repeat_interval: Duration = 0.0  # 0: never re-notify a still-firing alert
    severity: Literal["info", "warning", "critical"] = "warning"
    labels: dict[str, str] = {}
    receivers: list[str] | None = None
    description: str = ""

    @field_validator("window")
    @classmethod
    def _window(cls, v: float) -> float:
        if v < 1:
            raise ValueError(f"window must be at least 1s, got {format_duration(v)}")
        return v

    @field_validator("keys")
    @classmethod
    def _keys(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("an empty list matches nothing; omit 'keys' to mean every key")
            if any(not k.strip() for k in v):
                raise ValueError("keys must not be blank")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.scope == "overall" and self.keys:
            raise ValueError("scope 'overall' has a single key; remove 'keys'")
        if self.scope == "topic" and self.keys:
            unknown = [k for k in self.keys if k not in TOPICS]
            if unknown:
                raise ValueError(f"unknown topic(s) {unknown} in keys (known: {list(TOPICS)})")
        if self.bucket is not None:
            if self.bucket <= 0:
                raise ValueError("bucket must be longer than 0s")
            if self.bucket > self.window:
                raise ValueError("bucket must not be longer than window")
            ratio = self.window / self.bucket
            if not math.isfinite(ratio) or abs(ratio - round(ratio)) > 1e-9:
                raise ValueError(
                    f"window ({format_duration(self.window)}) must be a whole number of "
                    f"buckets ({format_duration(self.bucket)})"
                )
        baseline = self.detector.baseline
        if baseline is not None and baseline < 2 * self.window:
            raise ValueError(
                f"detector.baseline ({format_duration(baseline)}) must cover at least two "
                f"windows ({format_duration(2 * self.window)})"
            )
        return self

    @property
    def bucket_s(self) -> float:
        """Aggregation granularity: the given bucket, else a fifteenth of the window."""
        if self.bucket is not None:
            return self.bucket
        return _default_bucket(self.window)

    @property
    def horizon_s(self) -> float:
        """How far back aggregates are needed: the window plus the baseline."""
        return self.window + (self.detector.baseline or 0.0)

    def matches_key(self, key: str) -> bool:
        return self.keys is None or key in self.keys


def _default_bucket(window: float) -> float:
    for parts in (15, 12, 10, 6, 5, 4, 3, 2, 1):
        size = window / parts
        if size >= 1 and abs(size - round(size)) < 1e-9:
            return float(round(size))
    return window


class RuleSet(_Strict):
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"duplicate rule name {rule.name!r}")
            seen.add(rule.name)
        return self

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def fingerprint(rule: str, scope: str, key: str) -> str:
    """The identity of an alert: its rule and scope key (stable across restarts)."""
    return hashlib.sha256(f"{rule}\x1f{scope}\x1f{key}".encode()).hexdigest()[:32]
