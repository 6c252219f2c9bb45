"""RSS and Atom feeds (feedparser) to feed items. Pure: bytes in, values out.

The bytes are decoded by ``ingest.encoding`` first and handed to feedparser as UTF-8, so a
feed whose declaration lies about its encoding still reads correctly. Relative links resolve
against the feed's URL. A document that is not a feed at all (an HTML error page) raises
``ParseError``; a feed with broken entries keeps the good ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser

from ingest.dates import from_struct, parse_date
from ingest.encoding import as_utf8_xml, decode_body
from ingest.parse_errors import ParseError
from ingest.text import clean_space, html_to_text


@dataclass(frozen=True)
class FeedItem:
    link: str
    title: str
    summary: str
    published: datetime | None
    author: str | None
    guid: str | None


@dataclass(frozen=True)
class Feed:
    title: str
    items: list[FeedItem]
    skipped: int  # entries without a usable link


def _entry_date(entry: dict, zone: ZoneInfo | None) -> datetime | None:
    # dict.get, not feedparser's: its .get maps a missing "published" to "updated" (with a
    # deprecation warning); the order here says which stamp is preferred.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = from_struct(dict.get(entry, key))
        if value is not None:
            return value
    for read in (parse_date, lambda text: human_date(text, zone)):  # machine forms first
        for key in ("published", "updated", "dc_date"):
            value = read(dict.get(entry, key))
            if value is not None:
                return value
    return None


def human_date(text: object, zone: ZoneInfo | None) -> datetime | None:
    """A date written for people ("Monday, July 27, 2026 - 15:30"), in ``zone`` when it names
    none (UTC without a zone), as UTC; None when it cannot be read."""
    if not isinstance(text, str) or not text.strip() or len(text) > 100:
        return None
    import dateparser  # only for the rare feed whose dates feedparser cannot read

    cleaned = re.sub(r"\s+[-–]\s+(?=\d{1,2}:\d{2})", " ", text.strip())  # "2026 - 15:30"
    try:
        value = dateparser.parse(cleaned, settings={
            "TIMEZONE": zone.key if zone else "UTC", "RETURN_AS_TIMEZONE_AWARE": True,
            "TO_TIMEZONE": "UTC", "PREFER_DATES_FROM": "past"})
    except (ValueError, TypeError, OverflowError, re.error):
        return None
    return value.astimezone(UTC) if value else None


def _entry(entry: dict, feed_url: str, zone: ZoneInfo | None) -> FeedItem | None:
    link = (entry.get("link") or "").strip()
    if not link:
        link = next((alt.get("href", "") for alt in entry.get("links", []) if alt.get("href")), "")
    if not link:
        return None
    link = urljoin(feed_url, link)
    if not link.startswith(("http://", "https://")):
        return None
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    return FeedItem(
        link=link,
        title=clean_space(html_to_text(entry.get("title") or "")),
        summary=html_to_text(summary),
        published=_entry_date(entry, zone),
        author=(entry.get("author") or "").strip() or None,
        guid=(entry.get("id") or "").strip() or None,
    )


def _looks_like_html(text: str) -> str | None:
    head = text[:2000].lower()
    if "<html" in head or "<!doctype html" in head or "<body" in head:
        title = re.search(r"<title[^>]*>(.*?)</title>", text[:5000], re.I | re.S)
        return clean_space(title.group(1))[:120] if title else ""
    return None


def parse_feed(body: bytes, *, url: str, content_type: str | None = None,
               timezone: str | None = None) -> Feed:
    """The items of an RSS/Atom document fetched from ``url``; ``timezone`` is the zone of
    its dates that carry no offset."""
    zone = ZoneInfo(timezone) if timezone else None
    text, _ = decode_body(body, content_type)
    if not text.strip():
        raise ParseError("empty document, not a feed")
    try:
        parsed = feedparser.parse(
            as_utf8_xml(text),
            response_headers={"content-location": url, "content-type": "application/xml; charset=utf-8"},
            # We reduce summaries to plain text ourselves (html_to_text), and links resolve
            # against content-location either way: skipping both is ~30% faster.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser can raise anything on hostile input
        raise ParseError(f"feedparser failed: {type(exc).__name__}: {exc}") from exc
    if not parsed.get("version") and not parsed.entries:
        page_title = _looks_like_html(text)
        if page_title is not None:
            titled = f" titled {page_title!r}" if page_title else ""
            raise ParseError(f"not an RSS/Atom feed: an HTML page{titled}")
        reason = parsed.get("bozo_exception")
        raise ParseError(f"not an RSS/Atom feed{f': {reason}' if reason else ''}")
    items, skipped = [], 0
    for entry in parsed.entries:
        item = _entry(entry, url, zone)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    return Feed(title=html_to_text(parsed.feed.get("title", "")), items=items, skipped=skipped)
