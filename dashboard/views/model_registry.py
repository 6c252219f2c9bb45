"""Models: registered versions with their metrics, the champion; promote, roll back, retrain;
the challenger in shadow: its agreement with the champion and where they differ."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, jobs
from dashboard.widgets import explained, settings, user
from store.queries import model_versions, shadow
from store.queries.model_versions import RegistryError

cfg = settings()
url = cfg.database.url
st.title("Models")

with explained("model versions"):
    versions = data.model_versions(url)
    history = data.promotions(url)

if not versions:
    st.info("No model yet: no classifier version is registered. Train one with "
            "`finpulse train`; it appears here to be promoted.")
    st.stop()


def table(rows: list[dict]) -> pd.DataFrame:
    """One row per version; numeric top-level metrics become columns."""
    out = []
    for r in rows:
        metrics = {k: v for k, v in (r["metrics"] or {}).items() if isinstance(v, int | float)}
        out.append({"version": r["version"], "champion": r["is_champion"],
                    "status": r["status"], "created_at": r["created_at"], **metrics,
                    "base_model": r["base_model"], "notes": r["notes"]})
    return pd.DataFrame(out)


champion = next((r for r in versions if r["is_champion"]), None)
if champion:
    st.success(f"Champion: **{champion['version']}** (since promotion; "
               f"registered {champion['created_at']:%Y-%m-%d %H:%M} UTC)")
else:
    st.warning("No champion: classifier workers have no model to load. Promote a version.")
st.dataframe(table(versions), hide_index=True, width="stretch")


def run(action, *args) -> None:  # a registry function
    try:
        data.write(cfg.database, action, *args, by=user())
    except RegistryError as exc:
        st.error(str(exc))
        return
    st.rerun()


left, right = st.columns(2)
with left:
    others = [r["version"] for r in versions if not r["is_champion"]]
    chosen = st.selectbox("Version", others, key="models.promote.version",
                          disabled=not others)
    if st.button("Promote to champion", type="primary", disabled=not others,
                 key="models.promote"):
        run(model_versions.promote, chosen)
    if st.button("Put in shadow", disabled=not others, key="models.shadow.start",
                 help="It scores the live stream beside the champion (`finpulse shadow`); "
                      "promote it by hand when you have seen enough."):
        run(model_versions.start_shadow, chosen)
with right:
    target = data.rollback_target(url)
    st.caption(f"Roll back to the previous champion: {target or 'none recorded'}")
    if st.button("Roll back", disabled=not target, key="models.rollback"):
        run(model_versions.rollback)

st.subheader("Champion history")
if history.empty:
    st.caption("No promotions recorded yet.")
else:
    st.dataframe(history, hide_index=True, width="stretch")


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def period_progress(status: dict) -> tuple[float, str]:
    """How far the shadow period is (both minimums count), and a caption."""
    parts = [status["minutes"] / status["min_minutes"] if status["min_minutes"] else 1.0,
             status["scored"] / status["min_articles"] if status["min_articles"] else 1.0]
    return min(1.0, *parts), (f"Shadow period: {status['minutes']:.0f} / {status['min_minutes']:g} "
                              f"minutes, {status['scored']} / {status['min_articles']} articles")


def disagreement_columns() -> dict[str, object]:
    """Headline first, then both models' labels side by side, then their confidences."""
    text, number = st.column_config.TextColumn, st.column_config.NumberColumn
    out: dict[str, object] = {"title": text("headline", width="large")}
    for task in ("topic", "sentiment"):
        out |= {
            f"champion_{task}": text(f"champion {task}"),
            f"challenger_{task}": text(f"challenger {task}"),
        }
    for task in ("topic", "sentiment"):
        for who in ("champion", "challenger"):
            out[f"{who}_{task}_confidence"] = number(f"{who} {task} conf.", format="%.2f")
    return out | {"scored_at": st.column_config.DatetimeColumn("scored at", format="YYYY-MM-DD HH:mm:ss")}


def shadow_section(status: dict) -> None:
    pair = shadow.Pair(status["version"], status["champion"], status["started_at"])
    plan = ("promoted automatically once the shadow period is over" if status["promote_after"]
            else "observe only: promote it by hand")
    st.markdown(f"**{status['version']}** scores the live stream beside champion "
                f"**{status['champion']}** since {status['started_at']:%Y-%m-%d %H:%M} UTC "
                f"(started by {status['started_by']}; {plan}).")
    agree = data.shadow_agreement(url, pair)
    scored, topic, sentiment = st.columns(3)
    scored.metric("Scored", agree["n"])
    topic.metric("Topic agreement", pct(agree["topic"]))
    sentiment.metric("Sentiment agreement", pct(agree["sentiment"]))
    if status["promote_after"]:
        st.progress(*period_progress(status))
    task = st.radio("Confusion table", ["topic", "sentiment"], horizontal=True,
                    key="models.shadow.task")
    table = data.shadow_confusion(url, pair, task)
    if table.empty:
        st.caption("Nothing scored yet: is `finpulse shadow` running (`finpulse up` starts it)?")
    else:
        st.caption("Rows: the champion's label; columns: the challenger's; cells: articles.")
        st.dataframe(table, width="stretch")
    st.markdown("**Latest disagreements**")
    differ = data.shadow_disagreements(url, pair)
    if differ.empty:
        st.caption("None yet.")
    else:
        columns = disagreement_columns()
        st.dataframe(differ, hide_index=True, width="stretch", column_config=columns,
                     column_order=list(columns))
    if st.button("Stop shadow", key="models.shadow.stop",
                 help="End the shadow; the challenger is not promoted."):
        run(model_versions.stop_shadow)


st.subheader("Shadow")
with explained("the shadow run"):
    shadowing = data.shadow_status(url, cfg.model.shadow_min_minutes, cfg.model.shadow_min_articles)
    past = data.shadow_runs(url)
if shadowing is None:
    st.caption("No challenger in shadow. A challenger in shadow scores the live stream beside the "
               "champion, so you can see where they differ before promoting it. Start one with "
               "*Put in shadow* above, `finpulse models shadow VERSION`, or `finpulse retrain "
               "--shadow` (then it is promoted after the shadow period if the champion stays).")
else:
    shadow_section(shadowing)
if not past.empty:
    with st.expander("Shadow history"):
        st.dataframe(past, hide_index=True, width="stretch")

st.subheader("Retrain")
st.caption("Trains a challenger on the seed data plus the analysts' labels and compares it "
           "with the champion on the same held-out set; it is promoted only if it is not "
           "worse on either task and better on one. Running classifiers switch to it by "
           "themselves. One retrain runs at a time.")
if st.button("Retrain now", key="models.retrain"):
    started = jobs.start_retrain(cfg)
    st.info(f"Retraining started; its log is {started}")
last = jobs.latest_retrain_log(cfg)
if last is not None:
    st.caption(f"Latest retrain log: {last.name}")
    st.code(jobs.tail(last) or "(starting …)", language=None)
