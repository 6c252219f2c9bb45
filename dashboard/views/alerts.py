"""Alerts: current and past alerts with payload, evidence and delivery attempts;
acknowledge one, or silence its rule for a while (written to ``silences``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.widgets import explained, link_column, settings, time_range, user
from store.queries import dashboard as q

DURATIONS = {"1 hour": timedelta(hours=1), "4 hours": timedelta(hours=4),
             "24 hours": timedelta(hours=24), "7 days": timedelta(days=7)}

cfg = settings()
url = cfg.database.url
st.title("Alerts")
w = time_range("alerts", default="Last 7 days")
states = st.multiselect("State", q.ALERT_STATES, default=["pending", "firing"],
                        key="alerts.states")
with explained("alerts"):
    alerts = data.latest_alerts(url, 200, tuple(states), w.start)

if alerts.empty:
    st.info("No alerts in this time range with these states. Alerts are raised by "
            "`finpulse alerts` from the rules in `config/rules.yaml`.")
else:
    st.dataframe(alerts[["started_at", "state", "severity", "rule", "scope", "key", "value",
                         "threshold", "acked_by"]], hide_index=True, width="stretch")


def evidence_frame(payload: dict) -> pd.DataFrame:
    ev = payload.get("evidence") or []
    cols = ["published", "title", "url", "source", "sentiment", "sentiment_score"]
    return pd.DataFrame(ev, columns=cols) if ev else pd.DataFrame(columns=cols)


def show_detail(detail: dict) -> None:
    st.subheader(f"{detail['rule']} · {detail['scope']} {detail['key']}")
    cols = st.columns(4)
    cols[0].metric("State", detail["state"])
    cols[1].metric("Value", f"{detail['value']:g}", help=f"threshold {detail['threshold']:g}")
    cols[2].metric("Severity", detail["severity"])
    cols[3].metric("Acknowledged", detail["acked_by"] or "no")
    st.page_link("views/drilldown.py", label=f"Drill into {detail['scope']} {detail['key']}",
                 query_params={"dim": detail["scope"], "key": detail["key"]})
    tab_ev, tab_payload, tab_hist, tab_deliv = st.tabs(
        ["Evidence", "Payload", "History", "Deliveries"])
    with tab_ev:
        ev = evidence_frame(detail["payload"] or {})
        if ev.empty:
            st.caption("This alert cites no evidence articles.")
        else:
            st.dataframe(ev, hide_index=True, width="stretch", column_config={"url": link_column()})
    with tab_payload:
        st.json(detail["payload"] or {}, expanded=False)
        st.json(detail["labels"] or {}, expanded=False)
    with tab_hist:
        st.dataframe(pd.DataFrame(detail["history"], columns=["state", "at", "value"]),
                     hide_index=True, width="stretch")
    with tab_deliv:
        show_deliveries(detail["deliveries"])


def show_deliveries(deliveries: list[dict]) -> None:
    if not deliveries:
        st.caption("No webhook deliveries for this alert.")
        return
    for d in deliveries:
        st.markdown(f"**{d['receiver']}** · {d['event']} · `{d['status']}` after "
                    f"{d['attempts']} attempt(s) · {d['url']}")
        st.dataframe(pd.DataFrame(d["attempt_log"], columns=["attempt", "at", "status_code",
                                                             "latency_ms", "error"]),
                     hide_index=True, width="stretch")


def actions(detail: dict) -> None:
    now = datetime.now(UTC)
    left, right = st.columns(2)
    with left:
        st.markdown("**Acknowledge**")
        if st.button("Acknowledge", key="alerts.ack", disabled=bool(detail["acked_by"]),
                     type="primary"):
            data.write(cfg.database, q.acknowledge, detail["id"], by=user(), at=now)
            st.toast(f"Acknowledged {detail['rule']} on {detail['key']}")
            st.rerun()
    with right, st.form("alerts.silence"):
        st.markdown("**Silence**")
        duration = st.selectbox("For", list(DURATIONS), key="alerts.silence.duration")
        everywhere = st.checkbox(f"Every key of rule {detail['rule']}", key="alerts.silence.all")
        reason = st.text_input("Reason", key="alerts.silence.reason")
        if st.form_submit_button("Silence"):
            data.write(cfg.database, q.silence, rule=detail["rule"],
                       key=None if everywhere else detail["key"], duration=DURATIONS[duration],
                       by=user(), reason=reason, now=now)
            st.toast(f"Silenced {detail['rule']} for {duration}")
            st.rerun()


if not alerts.empty:
    labels = {r.id: f"{r.started_at:%Y-%m-%d %H:%M} · {r.state} · {r.rule} · {r.scope} {r.key}"
              for r in alerts.itertuples()}
    chosen = st.selectbox("Alert", list(labels), format_func=labels.get, key="alerts.chosen")
    with explained("the alert"):
        detail = data.alert_detail(url, chosen)
    if detail is not None:
        show_detail(detail)
        actions(detail)

st.subheader("Active silences")
with explained("silences"):
    silences = data.active_silences(url, datetime.now(UTC))
if silences.empty:
    st.caption("None.")
else:
    st.dataframe(silences, hide_index=True, width="stretch")
    ending = st.selectbox("Silence", silences["id"].tolist(), key="alerts.silence.end_id",
                          format_func=lambda i: " · ".join(
                              str(v) for v in silences.set_index("id").loc[i, ["rule", "key",
                                                                              "reason"]]))
    if st.button("End this silence now", key="alerts.silence.end"):
        data.write(cfg.database, q.expire_silence, int(ending), now=datetime.now(UTC))
        st.rerun()
