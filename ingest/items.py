"""Building articles from what the crawler found (a feed item, a page, a sitemap entry).
Pure: no fetching here."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from finpulse.schemas import Article, article_id_for_url
from ingest.canonical import normalize_url
from ingest.dates import plausible
from ingest.enrich import build_article
from ingest.extract import Page
from ingest.feeds import FeedItem
from ingest.language import detect_language
from ingest.tickers import Watchlist

log = logging.getLogger(__name__)


class NoContent(ValueError):
    """Neither the page nor the feed gave a title or text."""


FEED_PAGE_TOLERANCE = timedelta(days=2)


def agrees(feed: datetime, page: datetime) -> bool:
    """A feed's and a page's date for one item tell the same story (time zones and rounding
    move a date by a day; republishing by more)."""
    return abs(feed - page) <= FEED_PAGE_TOLERANCE


def compose(
    *,
    source: str,
    link: str,
    now: datetime,
    watchlist: Watchlist,
    page: Page | None = None,
    item: FeedItem | None = None,
    title: str | None = None,
    published: datetime | None = None,
) -> Article:
    """One article from a page and/or a feed item. The feed's title wins (it is the headline
    the site chose), the page's text wins (the feed's is a summary); the date is the first
    plausible of the given one, the feed's, the page's, else the time it was fetched; but a
    feed date more than two days from the page's own is the feed's error (a regeneration or
    update time), and the page's date is kept."""
    url = page.url if page else normalize_url(link)
    title = title or (item.title if item else "") or (page.title if page else "")
    text = page.text if page else (item.summary if item else "")
    if not title.strip() and not text.strip():
        raise NoContent(f"{link}: no title or text")
    feed_date = plausible(item.published, now) if item else None
    page_date = plausible(page.published, now) if page else None
    if feed_date and page_date and page.published_day and not agrees(feed_date, page_date):
        log.info("%s: the feed dates it %s, the page %s; keeping the page's", link,
                 feed_date.isoformat(), page_date.isoformat())
        feed_date = None
    dates = (published, feed_date, page_date)
    when = next((d for d in (plausible(x, now) for x in dates) if d), now)
    precision = (page.published_precision or "second") if page and when == page_date \
        and when not in (published, feed_date) else "second"
    return build_article(
        article_id=article_id_for_url(url),
        source=source,
        url=url,
        title=title,
        text=text,
        author=(item.author if item else None) or (page.author if page else None),
        published=when,
        published_precision=precision,
        fetched=now,
        language=detect_language(f"{title}\n{text}") or (page.language if page else None),
        watchlist=watchlist,
    )
