"""The Overview page on a seeded database, an empty one, and with the broker down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.widgets import window_for
from tests.dashboard.conftest import assert_no_exception, texts

pytestmark = pytest.mark.integration


def test_overview_shows_counts_charts_and_latest_alerts(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings)
    assert_no_exception(at)
    shown = texts(at)
    w = window_for(timedelta(hours=24), "hour", datetime.now(UTC))  # the default pick
    in_window = sum(1 for x in data.articles if w.start <= x.article.published < w.end)
    articles_metric = next(e for e in at.metric if e.label == "Articles")
    assert int(articles_metric.value.replace(",", "")) == in_window
    assert "Firing alerts" in shown
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 3
    alerts = at.dataframe[0].value
    assert list(alerts["id"] if "id" in alerts else alerts["rule"])[:2] == [
        "ticker-bearish", "topic-spike"]
    assert "Kafka broker at `127.0.0.1:1` is down" in shown


def test_range_picker_changes_what_is_counted(seeded, app_for) -> None:
    settings, data = seeded
    at = app_for(settings)
    day = int(next(e for e in at.metric if e.label == "Articles").value.replace(",", ""))
    at.sidebar.selectbox[0].select("Last hour").run()
    assert_no_exception(at)
    hour = int(next(e for e in at.metric if e.label == "Articles").value.replace(",", ""))
    assert hour < day
    assert hour >= len(data.spike_ids)
    assert at.sidebar.radio[0].value == "minute"


def test_empty_database_is_explained(empty_settings, app_for) -> None:
    at = app_for(empty_settings)
    assert_no_exception(at)
    shown = texts(at)
    assert "No articles yet" in shown
    assert "No model yet" in shown
    assert "No alerts yet" in shown
