"""Pure pieces: time windows, lag arithmetic, password check, charts as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from dashboard import charts
from dashboard.auth import password_ok
from dashboard.widgets import default_grain, grains_for, window_for
from finpulse.lag import group_lags

pytestmark = pytest.mark.unit


def test_window_ends_at_the_end_of_the_current_bucket() -> None:
    now = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
    w = window_for(timedelta(hours=1), "minute", now)
    assert (w.start, w.end) == (datetime(2026, 3, 1, 11, 35, tzinfo=UTC),
                                datetime(2026, 3, 1, 12, 35, tzinfo=UTC))
    d = window_for(timedelta(days=7), "day", now)
    assert d.end == datetime(2026, 3, 2, tzinfo=UTC) and d.end - d.start == timedelta(days=7)


def test_grains_offered_keep_charts_readable() -> None:
    assert grains_for(timedelta(hours=1)) == ["minute", "hour"]
    assert grains_for(timedelta(days=7)) == ["hour", "day"]
    assert grains_for(timedelta(days=90)) == ["day"]
    for span in (timedelta(hours=1), timedelta(days=7), timedelta(days=90)):
        assert default_grain(span) in grains_for(span)


def test_group_lags_counts_uncommitted_partitions_whole() -> None:
    lags = group_lags(
        {"finpulse-sink": {("news.classified", 0): 90, ("news.classified", 1): None}},
        {("news.classified", 0): 100, ("news.classified", 1): 7},
    )
    assert [(x.partition, x.committed, x.lag) for x in lags] == [(0, 90, 10), (1, None, 7)]


def test_password_comparison() -> None:
    assert password_ok("s3cret", "s3cret")
    assert not password_ok("s3cret ", "s3cret")
    assert not password_ok("", "s3cret")


def _series() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-03-01T12:00Z")
    rows = [{"bucket": t0 + pd.Timedelta(minutes=i), "key": k, "n": n, "n_bearish": 1,
             "n_bullish": n - 1, "n_neutral": 0, "sum_score": 0.5 * n}
            for i in range(3) for k, n in (("Earnings", 5), ("Macro", 2), ("IPO", 1))]
    df = pd.DataFrame(rows)
    df["net_sentiment"] = df["sum_score"] / df["n"]
    return df


def test_volume_chart_folds_small_topics_into_other() -> None:
    spec = charts.volume_chart(_series(), top=2).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert {v["key"] for v in values} == {"Earnings", "Macro", "other"}
    assert sum(v["n"] for v in values) == 3 * (5 + 2 + 1)


def test_drilldown_chart_marks_alerts() -> None:
    alerts = pd.DataFrame([{"started_at": pd.Timestamp("2026-03-01T12:01Z"), "rule": "spike",
                            "state": "firing", "value": 9.0, "threshold": 5.0}])
    one = _series().query("key == 'Earnings'")
    spec = charts.drilldown_chart(one, alerts, title="Earnings").to_dict()
    assert len(spec["layer"]) == 3 and spec["layer"][2]["mark"]["type"] == "rule"
    plain = charts.drilldown_chart(one, alerts.iloc[0:0], title="Earnings").to_dict()
    assert len(plain["layer"]) == 2
