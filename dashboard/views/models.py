"""Models: registered versions with their metrics, the champion; promote and roll back."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, jobs
from dashboard.widgets import explained, settings, user
from store.queries import models as registry
from store.queries.models import RegistryError

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


def run(action, *args) -> None:  # noqa: ANN001 - a registry function
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
        run(registry.promote, chosen)
with right:
    target = data.rollback_target(url)
    st.caption(f"Roll back to the previous champion: {target or 'none recorded'}")
    if st.button("Roll back", disabled=not target, key="models.rollback"):
        run(registry.rollback)

st.subheader("Champion history")
if history.empty:
    st.caption("No promotions recorded yet.")
else:
    st.dataframe(history, hide_index=True, width="stretch")

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
