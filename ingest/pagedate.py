"""When an article page says it was published, in the page's own time zone and precision.

The page's own declarations come first, in this order: JSON-LD ``datePublished`` of the article
item, the publication meta tags, ``itemprop="datePublished"`` markup and ``<time pubdate>``;
then htmldate's search of the page for its original (not its updated) date. "Modified" and
"updated" stamps are never used.

A stamp with a time of day keeps its UTC offset, so the day a reader sees is the day stored
(``2019-12-14T19:30-05:00`` is the 14th, though 00:30 UTC on the 15th). A date without a time
(``2019-12-14``) stays a date, with ``precision="day"``: it is not turned into midnight UTC of
some day.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from lxml import html as lxml_html

from ingest.dates import MAX_FUTURE, MIN_YEAR, parse_date

Precision = Literal["day", "second"]
ARTICLE_TYPES = frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle",
                           "analysisnewsarticle", "opinionnewsarticle", "report", "pressrelease",
                           "socialmediaposting", "liveblogposting", "scholarlyarticle", "techarticle",
                           "backgroundnewsarticle", "reviewnewsarticle", "posting"})
PUBLISHED_META = (
    "article:published_time", "og:published_time", "og:article:published_time", "published_time",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date", "dc.date.issued",
    "dcterms.issued", "dc.date.created", "dcterms.created", "sailthru.date", "parsely-pub-date",
    "article.published", "date", "dc.date", "dcterms.date",
)
_DATE_ONLY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


@dataclass(frozen=True)
class Published:
    at: datetime  # aware; in the page's own offset when it gave one, else UTC
    precision: Precision
    source: str  # where it was read, for the logs

    @property
    def day(self) -> date:
        """The calendar day the page shows."""
        return self.at.date()

    @property
    def utc(self) -> datetime:
        return self.at.astimezone(UTC)


def read_stamp(value: object, source: str) -> Published | None:
    """An ISO 8601 (or RFC 2822) stamp as written, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    m = _DATE_ONLY.match(value)
    if m:
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
        return Published(datetime.combine(day, time(), UTC), "day", source)
    text = value.strip().replace("Z", "+00:00")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = parse_date(value)  # RFC 2822 and other forms, in UTC
        if at is None:
            return None
    except OverflowError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Published(at, "second", source)


def _ld_type(item: dict) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _from_ld(ld: list[dict]) -> Published | None:
    items = sorted(ld, key=lambda i: not (_ld_type(i) & ARTICLE_TYPES))  # articles first
    for item in items:
        found = read_stamp(item.get("datePublished"), "json-ld datePublished")
        if found:
            return found
    return None


def _from_markup(tree: lxml_html.HtmlElement) -> Published | None:
    for node in tree.xpath('//*[@itemprop="datePublished"]'):
        found = read_stamp(node.get("content") or node.get("datetime") or node.text_content(),
                           "itemprop datePublished")
        if found:
            return found
    for node in tree.xpath("//time[@pubdate]"):
        found = read_stamp(node.get("datetime"), "time pubdate")
        if found:
            return found
    return None


def _from_search(tree: lxml_html.HtmlElement, url: str | None) -> Published | None:
    import htmldate  # only when the page declares nothing; htmldate loads dateparser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = htmldate.find_date(tree, original_date=True, extensive_search=True, url=url)
        except (ValueError, TypeError, AttributeError, IndexError, OverflowError, RecursionError):
            return None  # a search that fails on an odd page has found nothing
    return read_stamp(found, "htmldate (original date)") if found else None


def plausible(found: Published | None, now: datetime) -> Published | None:
    if found is None or found.at.year < MIN_YEAR or found.utc > now + MAX_FUTURE:
        return None
    return found


def find_published(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], *,
                   url: str | None = None, now: datetime | None = None,
                   search: bool = True) -> Published | None:
    """The page's publication time, or None when it gives none that is plausible."""
    now = now or datetime.now(UTC)
    for found in (_from_ld(ld),
                  next((f for f in (read_stamp(metas.get(k), f"meta {k}") for k in PUBLISHED_META)
                        if plausible(f, now)), None),
                  _from_markup(tree)):
        if plausible(found, now):
            return found
    return plausible(_from_search(tree, url), now) if search else None
