"""Overview: what the news says now, how it differs from normal, and the latest alerts.
The body is a fragment that re-runs by itself every ``dashboard.refresh_s`` seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import charts, data
from dashboard.widgets import Window, explained, no_data_yet, settings, time_window, window_for

cfg = settings()
url = cfg.database.url
st.title("Overview")
picked = time_window("overview")


def status_notes() -> None:
    """Explain what is missing (broker, model) without hiding the stored data."""
    if not data.broker_up(cfg.kafka.bootstrap_servers):
        st.warning(f"Kafka broker at `{cfg.kafka.bootstrap_servers}` is down or unreachable: "
                   "no new articles arrive until it is back. Stored data is shown below.")
    if data.champion(url) is None:
        st.info("No model yet: no classifier version is registered as champion "
                "(`finpulse train`, then promote one on the Models page).")


def headline_metrics(overall) -> None:  # a DataFrame
    n = int(overall["n"].sum())
    cols = st.columns(5)
    cols[0].metric("Articles", f"{n:,}")
    cols[1].metric("Net sentiment", f"{overall['sum_score'].sum() / n:+.2f}")
    cols[2].metric("Bearish", f"{overall['n_bearish'].sum() / n:.0%}")
    cols[3].metric("Bullish", f"{overall['n_bullish'].sum() / n:.0%}")
    firing = data.latest_alerts(url, 100, ("firing",))
    cols[4].metric("Firing alerts", len(firing))


def movers(w: Window) -> None:
    left, right = st.columns(2)
    for col, dim, title in ((left, "topic", "Topics"), (right, "ticker", "Tickers")):
        df = data.movers(url, dim, w.grain, w.start, w.end)
        with col:
            if df.empty:
                st.caption(f"{title}: not enough articles in this window to compare.")
            else:
                st.altair_chart(charts.movers_chart(
                    df, title=f"{title} moving most against their baseline"), width="stretch")


def latest_alerts() -> None:
    st.subheader("Latest alerts")
    alerts = data.latest_alerts(url, 10)
    if alerts.empty:
        st.caption("No alerts yet. Rules are evaluated by `finpulse alerts`.")
        return
    newest = alerts.iloc[0]
    st.markdown(f"**Latest:** `{newest['rule']}` on {newest['scope']} **{newest['key']}** · "
                f"{newest['state']} since {newest['started_at']:%Y-%m-%d %H:%M} UTC · value "
                f"{newest['value']:g} (threshold {newest['threshold']:g})")
    st.dataframe(alerts[["started_at", "state", "severity", "rule", "scope", "key", "value",
                         "threshold", "acked_by"]], hide_index=True, width="stretch")


@st.fragment(run_every=cfg.dashboard.refresh_s)
def live(span, grain: str) -> None:  # a timedelta
    w = window_for(span, grain, datetime.now(UTC))
    st.caption(f"{w.label} · refreshes every {cfg.dashboard.refresh_s}s · "
               f"updated {datetime.now(UTC):%H:%M:%S} UTC")
    with explained("the overview"):
        status_notes()
        overall = data.series(url, "all", w.grain, w.start, w.end)
        if overall.empty:
            no_data_yet("articles", data.latest_bucket(url))
            latest_alerts()
            return
        headline_metrics(overall)
        topics = data.series(url, "topic", w.grain, w.start, w.end)
        left, right = st.columns(2)
        left.altair_chart(charts.volume_chart(topics), width="stretch")
        right.altair_chart(charts.sentiment_chart(topics), width="stretch")
        st.altair_chart(charts.share_chart(overall), width="stretch")
        movers(w)
        latest_alerts()


live(picked.end - picked.start, picked.grain)
