"""Articles: search and filter stored articles; each row links to its source; CSV export."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.widgets import explained, link_column, settings, time_range
from finpulse.schemas import SENTIMENTS, TOPICS
from store.queries.articles import ArticleFilter

LIMIT = 500
EXPORT_LIMIT = 10_000

cfg = settings()
url = cfg.database.url
st.title("Articles")
w = time_range("articles")

with explained("article filters"):
    known_tickers = data.tickers(url, w.start, w.end)
    known_sources = data.sources(url)
    known_languages = data.languages(url, w.start)

text = st.text_input("Search headlines", key="articles.text", placeholder="e.g. guidance")
c1, c2, c3 = st.columns(3)
topics = c1.multiselect("Topic", TOPICS, key="articles.topics")
sentiments = c2.multiselect("Sentiment", SENTIMENTS, key="articles.sentiments")
tickers = c3.multiselect("Ticker", known_tickers, key="articles.tickers")
c4, c5, c6 = st.columns(3)
sources = c4.multiselect("Source", known_sources, key="articles.sources")
languages = c5.multiselect("Language", known_languages, key="articles.languages")
duplicates = c6.radio("Duplicates", ["include", "exclude", "only"], horizontal=True,
                      key="articles.duplicates")
low, high = st.slider("Topic confidence", 0.0, 1.0, (0.0, 1.0), step=0.05,
                      key="articles.confidence")

f = ArticleFilter(
    start=w.start, end=w.end, text=text, topics=tuple(topics), sentiments=tuple(sentiments),
    tickers=tuple(tickers), sources=tuple(sources), languages=tuple(languages),
    min_confidence=low, max_confidence=high, duplicates=duplicates,
)
with explained("articles"):
    rows = data.search_articles(url, f, LIMIT)

if rows.empty:
    st.info("No articles match these filters in this time range.")
    st.stop()

more = " (the newest; narrow the filters to see others)" if len(rows) >= LIMIT else ""
st.caption(f"{len(rows):,} articles{more} · {w.label.split(',')[0]}")
st.dataframe(
    rows, hide_index=True, width="stretch",
    column_config={"url": link_column(), "topic_confidence": st.column_config.ProgressColumn(
        "topic conf.", min_value=0.0, max_value=1.0, format="%.2f")},
)


def export_csv() -> bytes:
    """Runs only when the button is clicked (deferred): up to EXPORT_LIMIT matching rows."""
    return data.search_articles(url, f, EXPORT_LIMIT).to_csv(index=False).encode("utf-8")


st.download_button("Download CSV", export_csv, file_name="finpulse-articles.csv",
                   mime="text/csv", help=f"up to {EXPORT_LIMIT:,} matching articles",
                   key="articles.csv")
