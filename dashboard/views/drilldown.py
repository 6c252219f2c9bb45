"""Drill-down: one topic or ticker over time, its alerts marked on the chart, and the
headlines behind any point (click a bar, or pick the time below)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.widgets import GRAIN_STEP, explained, link_column, no_data_yet, settings, time_window
from finpulse.schemas import TOPICS

cfg = settings()
url = cfg.database.url
st.title("Drill-down")
w = time_window("drill")

params = st.query_params
dims = ["topic", "ticker", "source"]
dim = st.radio("Drill into", dims, horizontal=True,
               index=dims.index(params["dim"]) if params.get("dim") in dims else 0, key="drill.dim")
with explained("the drill-down"):
    if dim == "topic":
        options = list(TOPICS)
    elif dim == "ticker":
        options = data.tickers(url, w.start, w.end)
    else:
        options = data.sources(url)
    wanted = params.get("key")
    if wanted and wanted not in options:
        options = [wanted, *options]
    if not options:
        no_data_yet(f"{dim}s", data.latest_bucket(url))
        st.stop()
    key = st.selectbox(dim.capitalize(), options,
                       index=options.index(wanted) if wanted in options else 0,
                       key=f"drill.key.{dim}")
    series = data.series(url, dim, w.grain, w.start, w.end, (key,))
    alerts = data.alerts_for(url, dim, key, w.start, w.end)

st.caption(w.label)
if series.empty:
    no_data_yet(f"articles for {dim} {key}", data.latest_bucket(url))
    st.stop()

cols = st.columns(4)
cols[0].metric("Articles", f"{int(series['n'].sum()):,}")
cols[1].metric("Net sentiment", f"{series['sum_score'].sum() / series['n'].sum():+.2f}")
cols[2].metric("Bearish", f"{series['n_bearish'].sum() / series['n'].sum():.0%}")
cols[3].metric("Alerts", len(alerts))

event = st.altair_chart(charts.drilldown_chart(series, alerts, title=f"{dim} {key}"),
                        width="stretch", on_select="rerun", key=f"drill.chart.{dim}.{key}")


def clicked_bucket() -> datetime | None:
    """The bucket of the bar clicked on the chart, if any."""
    picked = (event.selection or {}).get("point") if event else None
    if picked and picked[0].get("bucket") is not None:
        return pd.to_datetime(picked[0]["bucket"], unit="ms", utc=True).to_pydatetime()
    return None


buckets = sorted(series["bucket"].dt.to_pydatetime(), reverse=True)
counts = dict(zip(series["bucket"].dt.to_pydatetime(), series["n"], strict=True))
chosen = clicked_bucket()
if chosen not in counts:
    chosen = st.selectbox(
        "Headlines at", buckets, key=f"drill.bucket.{dim}.{key}.{w.grain}",
        format_func=lambda b: f"{b:%Y-%m-%d %H:%M} UTC ({counts[b]} articles)")

if not alerts.empty:
    st.subheader("Alerts on this chart")
    st.dataframe(alerts[["started_at", "state", "rule", "value", "threshold", "acked_by"]],
                 hide_index=True, width="stretch")

st.subheader(f"Headlines {chosen:%Y-%m-%d %H:%M} + 1 {w.grain}")
with explained("headlines"):
    rows = data.headlines(url, dim, key, chosen,
                          chosen + GRAIN_STEP[w.grain])
st.dataframe(rows[["published", "title", "url", "source", "topic", "sentiment", "sentiment_score",
                   "topic_confidence", "tickers"]],
             hide_index=True, width="stretch", column_config={"url": link_column()})
