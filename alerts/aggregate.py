"""Window aggregates: what one classified article contributes to a rule's scope keys, and the
per-bucket counts the detectors read. Pure functions over plain data (JSON-friendly, so the
same values live in faust tables, in memory for backtests, and in unit tests)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from alerts.rules import Rule, fingerprint
from finpulse.schemas import ClassifiedArticle

EVIDENCE_PER_BUCKET = 5


@dataclass(frozen=True)
class Contribution:
    """One article counted by one rule under one scope key."""

    rule: str
    key: str
    fingerprint: str
    published: float  # event time, epoch seconds
    sentiment: str
    score: float  # P(bullish) - P(bearish)
    model_version: str
    evidence: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contribution:
        return cls(**data)


def scope_keys(rule: Rule, msg: ClassifiedArticle) -> list[str]:
    """The scope keys of ``rule`` that ``msg`` counts under (none when filtered out)."""
    if rule.novel_only and msg.article.duplicate_of is not None:
        return []
    if msg.prediction.sentiment_confidence < rule.min_confidence:
        return []
    if rule.scope == "overall":
        keys = ["*"]
    elif rule.scope == "topic":
        keys = [msg.prediction.topic]
    elif rule.scope == "source":
        keys = [msg.article.source]
    else:
        keys = sorted(set(msg.tickers or msg.article.tickers))
    return [k for k in keys if rule.matches_key(k)]


def contributions(rules: Iterable[Rule], msg: ClassifiedArticle) -> list[Contribution]:
    a, p = msg.article, msg.prediction
    evidence = {
        # Bounded: evidence travels in every contribution record and alert payload.
        "article_id": a.id, "title": a.title[:300], "url": a.url[:2048] if a.url else a.url,
        "source": a.source,
        "sentiment": p.sentiment, "sentiment_score": round(p.sentiment_score, 4),
        "published": a.published.isoformat(),
    }
    return [
        Contribution(
            rule=rule.name, key=key, fingerprint=fingerprint(rule.name, rule.scope, key),
            published=a.published.timestamp(), sentiment=p.sentiment,
            score=p.sentiment_score, model_version=p.model_version, evidence=evidence,
        )
        for rule in rules
        for key in scope_keys(rule, msg)
    ]


def bucket_of(ts: float, bucket_s: float) -> int:
    """The start (epoch seconds) of the bucket holding ``ts``."""
    return int(math.floor(ts / bucket_s) * bucket_s)


@dataclass
class Counts:
    n: int = 0
    bearish: int = 0
    bullish: int = 0
    neutral: int = 0
    sum_score: float = 0.0
    model_version: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Counts:
        if not data:
            return cls()
        # Buckets written before the engine kept its own table of counted articles carry
        # their article ids under "seen": no longer needed.
        return cls(**{k: v for k, v in data.items() if k != "seen"})

    def merge(self, other: Counts) -> None:
        self.n += other.n
        self.bearish += other.bearish
        self.bullish += other.bullish
        self.neutral += other.neutral
        self.sum_score += other.sum_score
        self.model_version = other.model_version or self.model_version
        self.evidence.extend(other.evidence)


def add(counts: Counts, c: Contribution, rank: Callable[[dict[str, Any]], float]) -> None:
    """Count ``c`` into ``counts`` (the caller makes sure each article counts once)."""
    counts.n += 1
    if c.sentiment in ("bearish", "bullish", "neutral"):
        setattr(counts, c.sentiment, getattr(counts, c.sentiment) + 1)
    counts.sum_score += c.score
    counts.model_version = c.model_version
    counts.evidence = sorted([*counts.evidence, c.evidence], key=rank, reverse=True)[
        :EVIDENCE_PER_BUCKET
    ]
