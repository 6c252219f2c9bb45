"""Pipeline health: consumer lag per group, throughput, dead letters, last success per source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, data
from dashboard.widgets import explained, settings
from finpulse.lag import BrokerDown
from finpulse.settings import WatchdogSettings
from store.queries.watchdog import CHECKS, HEARTBEAT

STALE = timedelta(hours=1)


def watchdog_panel(checks: pd.DataFrame, cfg: WatchdogSettings, now: datetime) -> None:
    """Each watchdog check: red with its reason while it fires, green otherwise. A heartbeat
    older than two periods means the watchdog itself (``finpulse alerts``) is not running."""
    beat = checks[checks["rule"] == HEARTBEAT] if not checks.empty else checks
    late = timedelta(seconds=2 * cfg.heartbeat_every_s + cfg.check_every_s)
    if beat.empty:
        st.warning("**Heartbeat**: the watchdog has not reported yet; it runs in "
                   "`finpulse alerts`.")
    elif now - beat["updated"].max() > late:
        st.error(f"**Heartbeat**: last sent {beat['updated'].max():%Y-%m-%d %H:%M:%S} UTC, over "
                 f"{late.total_seconds() / 60:.0f} min ago: the watchdog is not running. Is "
                 "`finpulse alerts` running?")
    else:
        st.success(f"**Heartbeat**: sent {beat['updated'].max():%H:%M:%S} UTC; receivers hear it "
                   f"every {cfg.heartbeat_every_s / 60:g} min")
    for rule, title in CHECKS.items():
        if rule == HEARTBEAT:
            continue
        firing = checks[checks["rule"] == rule] if not checks.empty else checks
        if firing.empty:
            st.success(f"**{title}**: none")
        for row in firing.itertuples():
            st.error(f"**{title}**: {row.reason} ({row.state} since {row.since:%Y-%m-%d %H:%M} UTC)")

cfg = settings()
url = cfg.database.url
st.title("Pipeline health")
now = datetime.now(UTC).replace(second=0, microsecond=0)

st.subheader("Watchdog")
with explained("the watchdog"):
    checks = data.watchdog_status(url)
    restarts = data.part_restarts(url, now - timedelta(hours=1))
watchdog_panel(checks, cfg.alerts.watchdog, datetime.now(UTC))
if not restarts.empty:
    with st.expander(f"Restarts in the last hour ({int(restarts['n'].sum())})"):
        st.dataframe(restarts, hide_index=True, width="stretch")

st.subheader("Consumer lag")
try:
    if not data.broker_up(cfg.kafka.bootstrap_servers):
        raise BrokerDown(f"Kafka at {cfg.kafka.bootstrap_servers} is not reachable")
    lag = data.consumer_lag(cfg.kafka.bootstrap_servers, cfg.kafka.group_prefix,
                            cfg.kafka.client_id)
except BrokerDown as exc:
    st.warning(f"Broker down: {exc}. Lag is unknown until it is back; the database views "
               "below still work.")
else:
    if lag.empty:
        st.caption(f"No consumer groups named `{cfg.kafka.group_prefix}-*` have committed yet.")
    else:
        total = lag.groupby("group", as_index=False)["lag"].sum()
        st.altair_chart(charts.lag_chart(lag), width="stretch")
        st.dataframe(total, hide_index=True, width="stretch")

with explained("pipeline health"):
    minutes = data.series(url, "all", "minute", now - timedelta(hours=1),
                          now + timedelta(minutes=1))
    per_model = data.classified_per_model(url)
    dlq = data.dead_letter_counts(url, now - timedelta(hours=24))
    recent_dlq = data.recent_dead_letters(url)
    sources = data.source_status(url)

st.subheader("Throughput")
recent = minutes[minutes["bucket"] >= now - timedelta(minutes=5)] if not minutes.empty else None
last5 = int(recent["n"].sum()) if recent is not None else 0
c1, c2 = st.columns(2)
c1.metric("Articles / min (last 5 min, by publication time)", f"{last5 / 5:.1f}")
c2.metric("Articles in the last hour", int(minutes["n"].sum()) if not minutes.empty else 0)
if minutes.empty:
    st.caption("No articles published in the last hour.")
else:
    st.altair_chart(charts.throughput_chart(minutes), width="stretch")
if not per_model.empty:
    st.caption("Model versions behind the newest 2,000 articles: " + ", ".join(
        f"{r.model_version}: {r.n:,}" for r in per_model.itertuples()))

st.subheader("Dead letters (last 24 h)")
if dlq.empty:
    st.caption("No dead letters in the last 24 hours.")
else:
    st.metric("Dead letters", int(dlq["n"].sum()))
    st.dataframe(dlq, hide_index=True, width="stretch")
    with st.expander("Most recent"):
        st.dataframe(recent_dlq, hide_index=True, width="stretch")

st.subheader("Sources")
if sources.empty:
    st.caption("No ingest source has reported yet (`finpulse ingest`).")
else:
    sources["stale"] = sources["last_success"].isna() | (
        sources["last_success"] < now - STALE)
    st.dataframe(sources, hide_index=True, width="stretch", column_config={
        "stale": st.column_config.CheckboxColumn("no success in 1 h"),
        "not_article": st.column_config.NumberColumn(
            "not articles", help="pages refused as home pages, section fronts, videos…"),
        "last_not_article": st.column_config.TextColumn("latest refused page and why")})
