"""Idempotent writes: replays change nothing; reclassification moves rollup counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from finpulse.schemas import utcnow
from finpulse.settings import DatabaseSettings
from store import tables as m
from store.db import session_factory
from store.migrate import upgrade
from store.writes import write_classified
from tests.store.factories import classified

pytestmark = pytest.mark.integration


def totals(session) -> dict[str, int]:
    rows = session.execute(
        select(m.Rollup.dim, m.Rollup.grain, func.sum(m.Rollup.n), func.sum(m.Rollup.n_bearish))
        .group_by(m.Rollup.dim, m.Rollup.grain)
    ).all()
    return {f"{d}/{g}": (int(n), int(b)) for d, g, n, b in rows}


def test_replay_is_a_no_op_and_reclassification_moves_counts(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    sessions = session_factory(db)
    t = datetime(2026, 11, 28, 10, 7, tzinfo=UTC)
    batch = [classified(i, published=t, sentiment="bearish" if i < 3 else "bullish",
                        tickers=["JPM"] if i % 2 else []) for i in range(10)]
    with sessions.begin() as s:
        assert write_classified(s, batch, utcnow()) == 10
    with sessions.begin() as s:
        assert write_classified(s, batch + batch[:4], utcnow()) == 0  # replay
        first = totals(s)
        assert s.scalar(select(func.count()).select_from(m.Article)) == 10
        assert s.scalar(select(func.count()).select_from(m.ArticleTicker)) == 5
    assert first["all/minute"] == (10, 3) and first["all/hour"] == (10, 3)
    assert first["ticker/minute"] == (5, 1)  # ids 1, 3, 5, 7, 9; only 1 is bearish
    # A new model version calls story 5 bearish: counts move, totals stay.
    again = classified(5, published=t, sentiment="bearish", tickers=["JPM"], model_version="v2")
    with sessions.begin() as s:
        assert write_classified(s, [again], utcnow()) == 1
        after = totals(s)
        stored = s.get(m.Prediction, again.article.id)
        assert stored.model_version == "v2" and stored.sentiment == "bearish"
    assert after["all/minute"] == (10, 4)
    assert after["ticker/minute"] == (5, 2)
    assert after["topic/hour"][0] == 10


def test_a_date_only_publication_is_stored_with_its_precision(db_url: str) -> None:
    db = DatabaseSettings(url=db_url)
    upgrade(db)
    day = classified(1, published=datetime(2019, 12, 14, tzinfo=UTC))
    day = day.model_copy(update={"article": day.article.model_copy(update={"published_precision": "day"})})
    timed = classified(2, published=datetime(2019, 12, 14, 19, 30, tzinfo=UTC))
    with session_factory(db).begin() as s:
        write_classified(s, [day, timed], utcnow())
    with session_factory(db)() as s:
        stored = {a.id: (a.published, a.published_precision) for a in s.scalars(select(m.Article))}
    assert stored[day.article.id] == (datetime(2019, 12, 14, tzinfo=UTC), "day")
    assert stored[timed.article.id][1] == "second"
