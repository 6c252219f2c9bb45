"""Labeling queue: one story at a time, the model's guess pre-selected; save, skip, undo.
Stories behind alerts come first, then the least confident. Keys: S save, K skip, U undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard import data
from dashboard.widgets import explained, settings, user
from finpulse.schemas import SENTIMENTS, TOPICS
from store.queries import labels as q

SKIPPED = "labeling.skipped_ids"
UNDO = "labeling.undo_stack"

cfg = settings()
url = cfg.database.url
st.title("Labeling queue")
st.session_state.setdefault(SKIPPED, [])
st.session_state.setdefault(UNDO, [])


def save(item: q.QueueItem) -> None:
    topic = st.session_state[f"label.topic.{item.article_id}"]
    sentiment = st.session_state[f"label.sentiment.{item.article_id}"] or item.sentiment
    who = user()
    written = data.write(cfg.database, q.save_labels, item.article_id, topic=topic,
                         sentiment=sentiment, by=who, at=datetime.now(UTC),
                         text=f"{item.title}\n{item.text}".strip())
    st.session_state[UNDO].append((who, written))
    st.toast(f"Saved: {topic} · {sentiment}")


def skip(item: q.QueueItem) -> None:
    st.session_state[SKIPPED].append(item.article_id)


def undo() -> None:
    if not st.session_state[UNDO]:
        return
    who, written = st.session_state[UNDO].pop()
    data.write(cfg.database, q.undo_labels, written, by=who)
    st.toast("Undone: the story is back in the queue")


with explained("the labeling queue"):
    progress = data.retraining_progress(url, cfg.dashboard.retrain_after_labels)
    since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        days=cfg.dashboard.label_window_days)
    queue = data.label_queue(url, since, tuple(st.session_state[SKIPPED]))

st.progress(progress["fraction"],
            text=f"{progress['labels']} / {progress['every']} labels towards the next retraining")

top = st.columns([1, 1, 4])
top[0].button("Undo", on_click=undo, shortcut="U", key="labeling.undo_button",
              disabled=not st.session_state[UNDO])
if st.session_state[SKIPPED] and top[1].button("Unskip all", key="labeling.unskip"):
    st.session_state[SKIPPED] = []
    st.rerun()

if not queue:
    st.success(f"Nothing left to label in the last {cfg.dashboard.label_window_days} days. "
               "New stories arrive as they are classified.")
    st.stop()

item = queue[0]
with st.container(border=True):
    if item.boosted:
        st.caption(":red[Behind an alert] · this story is evidence for a recent alert")
    st.subheader(item.title or "(no headline)")
    st.caption(f"{item.source} · {item.published:%Y-%m-%d %H:%M} UTC"
               + (f" · [open source]({item.url})" if item.url else ""))
    if item.text and item.text != item.title:
        st.write(item.text[:1500])
    st.caption(f"Model's guess: {item.topic} ({item.topic_confidence:.0%}), "
               f"{item.sentiment} ({item.sentiment_confidence:.0%})")
    st.selectbox("Topic", TOPICS, index=TOPICS.index(item.topic) if item.topic in TOPICS else 0,
                 key=f"label.topic.{item.article_id}")
    st.segmented_control("Sentiment", SENTIMENTS, default=item.sentiment,
                         key=f"label.sentiment.{item.article_id}")
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button("Save", type="primary", on_click=save, args=(item,), shortcut="S",
              key="labeling.save_button")
    b2.button("Skip", on_click=skip, args=(item,), shortcut="K", key="labeling.skip_button")

st.caption(f"{len(queue)}{'+' if len(queue) >= 20 else ''} stories in the queue")
with st.expander("Your recent labels"):
    st.dataframe(data.recent_labels(url, user()), hide_index=True, width="stretch")
