"""Time-bucket rollups, kept exact under replays and reclassification.

Each stored article *contributes* to a few rollup rows (one per grain and dimension). When the
sink writes an article it removes the contribution of what was stored before (if anything) and
adds the new one, in the same transaction, so a replayed message changes nothing and a
reclassified article moves between buckets instead of being counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from store.tables import Rollup
from store.upsert import increment

GRAINS: dict[str, str] = {"minute": "minute", "hour": "hour"}
COUNTERS = ("n", "n_novel", "n_bearish", "n_bullish", "n_neutral", "sum_score")


def bucket_start(ts: datetime, grain: str) -> datetime:
    if grain == "minute":
        return ts.replace(second=0, microsecond=0)
    if grain == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    raise ValueError(f"unknown rollup grain {grain!r}")


@dataclass(frozen=True)
class Contribution:
    """What one stored article adds to the rollups."""

    published: datetime
    source: str
    topic: str
    sentiment: str
    score: float
    novel: bool
    tickers: frozenset[str]

    def keys(self) -> list[tuple[str, str]]:
        dims = [("all", "*"), ("topic", self.topic), ("source", self.source)]
        return dims + [("ticker", t) for t in sorted(self.tickers)]


class RollupDeltas:
    """Accumulates signed contributions, then writes them as atomic increments."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, datetime, str, str], dict[str, float]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0)
        )

    def add(self, c: Contribution, sign: int) -> None:
        for grain in GRAINS:
            bucket = bucket_start(c.published, grain)
            for dim, key in c.keys():
                row = self._rows[(grain, bucket, dim, key)]
                row["n"] += sign
                row["n_novel"] += sign if c.novel else 0
                row[f"n_{c.sentiment}"] += sign
                row["sum_score"] += sign * c.score

    def write(self, session: Session) -> None:
        rows = [
            {"grain": g, "bucket": b, "dim": d, "key": k, **vals}
            for (g, b, d, k), vals in self._rows.items()
            if any(vals.values())
        ]
        # Sorted keys give every writer the same lock order on PostgreSQL (no deadlocks).
        rows.sort(key=lambda r: (r["grain"], r["bucket"], r["dim"], r["key"]))
        for chunk_start in range(0, len(rows), 500):
            increment(
                session,
                Rollup.__table__,
                rows[chunk_start : chunk_start + 500],
                keys=("grain", "bucket", "dim", "key"),
                counters=COUNTERS,
            )
