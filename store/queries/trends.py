"""Time-series reads for the dashboard, from the rollups the sink maintains (never raw rows).

Every function takes the caller's ``Session`` and returns plain rows; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finpulse.schemas import TOPICS
from store.tables import Rollup

DIMS = ("all", "topic", "ticker", "source")
GRAINS = ("minute", "hour")
GRAIN_SECONDS = {"minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Point:
    """One rollup bucket of one key."""

    bucket: datetime
    key: str
    n: int
    n_novel: int
    n_bearish: int
    n_bullish: int
    n_neutral: int
    sum_score: float


@dataclass(frozen=True)
class Mover:
    """A key's volume in the window against its per-window baseline before it."""

    key: str
    n: int
    baseline: float
    ratio: float
    net_sentiment: float


def _check(dim: str, grain: str) -> None:
    if dim not in DIMS:
        raise ValueError(f"unknown rollup dim {dim!r} (expected one of {', '.join(DIMS)})")
    if grain not in GRAINS:
        raise ValueError(f"unknown rollup grain {grain!r} (expected one of {', '.join(GRAINS)})")


def _keys_for(dim: str, keys: Sequence[str] | None) -> Sequence[str] | None:
    # Naming the keys lets the (grain, dim, key, bucket) index seek each key's range.
    if keys is not None:
        return list(keys)
    if dim == "topic":
        return list(TOPICS)
    if dim == "all":
        return ["*"]
    return None


def series(
    session: Session,
    *,
    dim: str,
    grain: str,
    start: datetime,
    end: datetime,
    keys: Sequence[str] | None = None,
) -> list[Point]:
    """Rollup rows of ``dim`` at ``grain`` with ``start <= bucket < end``, oldest first.
    Grain 'day' is summed in the database from the hourly rollups."""
    if grain == "day":
        return _daily(session, dim=dim, start=start, end=end, keys=keys)
    _check(dim, grain)
    r = Rollup
    stmt = (
        select(r.bucket, r.key, r.n, r.n_novel, r.n_bearish, r.n_bullish, r.n_neutral,
               r.sum_score)
        .where(r.grain == grain, r.dim == dim, r.bucket >= start, r.bucket < end, r.n > 0)
        .order_by(r.bucket, r.key)
    )
    wanted = _keys_for(dim, keys)
    if wanted is not None:
        stmt = stmt.where(r.key.in_(wanted))
    return [Point(*row) for row in session.execute(stmt)]


def _day_of(session: Session, bucket):  # SQL expressions
    """The UTC day of a bucket, as text (SQLite) or a naive UTC timestamp (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("day", func.timezone("UTC", bucket))
    return func.substr(bucket, 1, 10)  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC


def _as_utc_day(value: object) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _daily(session: Session, *, dim: str, start: datetime, end: datetime,
           keys: Sequence[str] | None) -> list[Point]:
    _check(dim, "hour")
    r = Rollup
    day = _day_of(session, r.bucket).label("day")
    stmt = (
        select(day, r.key, func.sum(r.n), func.sum(r.n_novel), func.sum(r.n_bearish),
               func.sum(r.n_bullish), func.sum(r.n_neutral), func.sum(r.sum_score))
        .where(r.grain == "hour", r.dim == dim, r.bucket >= start, r.bucket < end)
        .group_by(day, r.key)
        .having(func.sum(r.n) > 0)
        .order_by(day, r.key)
    )
    wanted = _keys_for(dim, keys)
    if wanted is not None:
        stmt = stmt.where(r.key.in_(wanted))
    return [Point(_as_utc_day(d), k, int(n), int(nv), int(b), int(u), int(z), float(sc))
            for d, k, n, nv, b, u, z, sc in session.execute(stmt)]


def totals(
    session: Session, *, dim: str, grain: str, start: datetime, end: datetime,
    keys: Sequence[str] | None = None,
) -> dict[str, Point]:
    """Per key: the sums of its rollup counters over ``[start, end)`` (bucket = start)."""
    _check(dim, grain)
    r = Rollup
    stmt = (
        select(r.key, func.sum(r.n), func.sum(r.n_novel), func.sum(r.n_bearish),
               func.sum(r.n_bullish), func.sum(r.n_neutral), func.sum(r.sum_score))
        .where(r.grain == grain, r.dim == dim, r.bucket >= start, r.bucket < end)
        .group_by(r.key)
    )
    wanted = _keys_for(dim, keys)
    if wanted is not None:
        stmt = stmt.where(r.key.in_(wanted))
    out = {}
    for key, *sums in session.execute(stmt):
        n, novel, bear, bull, neut, score = (v or 0 for v in sums)
        if n > 0:
            out[key] = Point(start, key, int(n), int(novel), int(bear), int(bull), int(neut),
                             float(score))
    return out


def movers(
    session: Session,
    *,
    dim: str,
    grain: str,
    start: datetime,
    end: datetime,
    baseline_windows: int = 6,
    limit: int = 10,
    min_count: int = 3,
) -> list[Mover]:
    """Keys of ``dim`` whose volume in ``[start, end)`` is furthest above their mean volume
    over the ``baseline_windows`` windows of the same length just before it."""
    width = end - start
    base_start = start - width * baseline_windows
    now = totals(session, dim=dim, grain=grain, start=start, end=end)
    before = totals(session, dim=dim, grain=grain, start=base_start, end=start,
                    keys=[k for k, p in now.items() if p.n >= min_count] or ["\x00"])
    out = []
    for key, p in now.items():
        if p.n < min_count:
            continue
        baseline = (before[key].n if key in before else 0) / baseline_windows
        out.append(Mover(key, p.n, baseline, (p.n + 1) / (baseline + 1), p.sum_score / p.n))
    out.sort(key=lambda m: (-m.ratio, -m.n, m.key))
    return out[:limit]


def latest_bucket(session: Session) -> datetime | None:
    """The newest bucket with any article (None: no data yet)."""
    r = Rollup
    return session.execute(
        select(func.max(r.bucket)).where(r.grain == "hour", r.dim == "all", r.key == "*")
    ).scalar_one_or_none()


def span_for(grain: str) -> timedelta:
    return timedelta(seconds=GRAIN_SECONDS[grain])
