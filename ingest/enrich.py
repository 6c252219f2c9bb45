"""Shaping found text into an ``Article``: a title when none is given, language and tickers.

Pure functions: the watchlist is loaded at the entry point and passed in.
"""

from __future__ import annotations

import re
from datetime import datetime

from finpulse.schemas import Article
from ingest.language import detect_language
from ingest.tickers import EMPTY_WATCHLIST, Watchlist, find_tickers

MAX_TITLE_CHARS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9$])")


def title_from_text(text: str) -> str:
    """The first line of ``text``, cut to its first sentence when that line is long."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= MAX_TITLE_CHARS:
        return first
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0]
    if len(sentence) <= MAX_TITLE_CHARS:
        return sentence
    cut = sentence[:MAX_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def build_article(
    *,
    article_id: str,
    source: str,
    text: str,
    published: datetime,
    fetched: datetime,
    published_precision: str = "second",
    title: str | None = None,
    url: str | None = None,
    author: str | None = None,
    language: str | None = None,
    duplicate_of: str | None = None,
    watchlist: Watchlist = EMPTY_WATCHLIST,
) -> Article:
    """An ``Article`` with its title, language and tickers filled in from the text."""
    title = (title or "").strip() or title_from_text(text)
    both = f"{title}\n{text}"
    return Article(
        id=article_id,
        source=source,
        url=url,
        title=title,
        text=text.strip(),
        published=published,
        published_precision=published_precision,
        fetched=fetched,
        language=language or detect_language(both),
        tickers=find_tickers(both, watchlist),
        author=author or None,
        duplicate_of=duplicate_of,
    )
