"""The dashboard's entry point: builds the Settings, checks access, and routes to a page.

Run with ``finpulse dashboard`` (or ``streamlit run dashboard/app.py``); the settings come from
``Settings.load()``, which honours ``FINPULSE_CONFIG``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.auth import gate
from dashboard.widgets import SETTINGS_KEY
from finpulse.errors import ConfigError
from finpulse.settings import Settings

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = [  # file in views/, title, URL path
    ("overview.py", "Overview", "overview"),
    ("drilldown.py", "Drill-down", "drilldown"),
    ("articles.py", "Articles", "articles"),
    ("alerts.py", "Alerts", "alerts"),
    ("labeling.py", "Labeling queue", "labeling"),
    ("model_registry.py", "Models", "models"),
    ("pipeline.py", "Pipeline health", "pipeline"),
]


def main() -> None:
    # No ":material/...:" icons: their favicons are fetched from fonts.gstatic.com, and
    # emoji need an emoji font the server's browser may lack.
    st.set_page_config(page_title="finpulse", layout="wide")
    try:
        st.session_state[SETTINGS_KEY] = Settings.load()
    except ConfigError as exc:
        st.error(f"The dashboard cannot start: {exc}")
        st.stop()
    if not gate(st.session_state[SETTINGS_KEY].dashboard):
        st.stop()
    pages = [st.Page(VIEWS / name, title=title, url_path=url_path, default=(i == 0))
             for i, (name, title, url_path) in enumerate(PAGES)]
    st.navigation(pages).run()


main()
