"""Shared page pieces: the time window picker, the current user, and explained failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from finpulse.settings import Settings

SETTINGS_KEY = "finpulse.settings"
USER_KEY = "finpulse.user"

RANGES: dict[str, timedelta] = {
    "Last hour": timedelta(hours=1),
    "Last 6 hours": timedelta(hours=6),
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Last 90 days": timedelta(days=90),
}
GRAIN_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
              "day": timedelta(days=1)}


@dataclass(frozen=True)
class Window:
    """The time window and bucket size a page shows."""

    start: datetime
    end: datetime
    grain: str  # minute | hour | day

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC, per {self.grain}"


def grains_for(span: timedelta) -> list[str]:
    """Bucket sizes that give a readable chart for ``span`` (finest first)."""
    out = []
    if span <= timedelta(hours=24):
        out.append("minute")
    if span <= timedelta(days=7):  # 30 days of hours is 720 points per line: use days
        out.append("hour")
    if span >= timedelta(days=2):
        out.append("day")
    return out


def default_grain(span: timedelta) -> str:
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=7):
        return "hour"
    return "day"


def window_for(span: timedelta, grain: str, now: datetime) -> Window:
    """The window ending at the end of ``now``'s current bucket, ``span`` long."""
    step = GRAIN_STEP[grain]
    floor = datetime.fromtimestamp(now.timestamp() // step.total_seconds()
                                   * step.total_seconds(), UTC)
    end = floor + step
    return Window(start=end - span, end=end, grain=grain)


def time_window(key: str = "window", default: str = "Last 24 hours") -> Window:
    """Time range and granularity pickers (in the sidebar); returns the chosen window."""
    box = st.sidebar
    label = box.selectbox("Time range", list(RANGES), index=list(RANGES).index(default),
                          key=f"{key}.range")
    span = RANGES[label]
    options = grains_for(span)
    grain = box.radio("Granularity", options, index=options.index(default_grain(span)),
                      horizontal=True, key=f"{key}.grain.{label}")
    return window_for(span, grain, datetime.now(UTC))


def settings() -> Settings:
    """The Settings the entry point built for this run."""
    return st.session_state[SETTINGS_KEY]


def user() -> str:
    """Who is using the dashboard (signed-in email, else the name they typed)."""
    return st.session_state.get(USER_KEY) or "analyst"


@contextmanager
def explained(what: str) -> Iterator[None]:
    """Turn a database failure into an explanation instead of a stack trace."""
    try:
        yield
    except SQLAlchemyError as exc:
        st.error(
            f"Could not read {what} from the database: {type(exc).__name__}. "
            "Is the database reachable and migrated (`finpulse db upgrade`)?"
        )
        st.caption(str(exc).splitlines()[0][:300])
        st.stop()


def no_data_yet(what: str, newest: datetime | None) -> None:
    """Explain an empty chart: nothing stored at all, or nothing in this window."""
    if newest is None:
        st.info(
            f"No {what} yet: no classified articles are stored. Start the pipeline "
            "(`finpulse up`, or `finpulse ingest`, `finpulse classify` and `finpulse sink`) "
            "and this page fills in by itself."
        )
    else:
        st.info(f"No {what} in this window. The newest stored article is from "
                f"{newest:%Y-%m-%d %H:%M} UTC; pick a longer time range.")


def time_range(key: str, default: str = "Last 24 hours") -> Window:
    """Only a time range (no granularity): for pages that list rows rather than chart them."""
    label = st.sidebar.selectbox("Time range", list(RANGES), index=list(RANGES).index(default),
                                 key=f"{key}.range")
    return window_for(RANGES[label], "minute", datetime.now(UTC))


def link_column(label: str = "link") -> object:
    return st.column_config.LinkColumn(label, display_text="open")
