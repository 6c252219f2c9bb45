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

from ingest.dates import parse_date
from ingest.dates import plausible as plausible_instant
from ingest.page_meta import ARTICLE_TYPES, ld_types

Precision = Literal["day", "second"]
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
    try:
        at.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or 9999 west of it: not a date to keep
        return None
    return Published(at, "second", source)


def _from_ld(ld: list[dict]) -> Published | None:
    items = sorted(ld, key=lambda i: not (ld_types(i) & ARTICLE_TYPES))  # articles first
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


MONTHS = {
    # English, German, French, Spanish, Portuguese, Italian, Dutch
    **dict.fromkeys(("january", "jan", "januar", "jänner", "janvier", "janv", "enero", "janeiro",
                     "gennaio", "januari"), 1),
    **dict.fromkeys(("february", "feb", "februar", "février", "fevrier", "févr", "fév", "febrero",
                     "fevereiro", "febbraio", "februari"), 2),
    **dict.fromkeys(("march", "mar", "märz", "maerz", "mars", "marzo", "março", "marco", "maart"), 3),
    **dict.fromkeys(("april", "apr", "avril", "avr", "abril", "aprile"), 4),
    **dict.fromkeys(("may", "mai", "mayo", "maio", "maggio", "mei"), 5),
    **dict.fromkeys(("june", "jun", "juni", "juin", "junio", "junho", "giugno"), 6),
    **dict.fromkeys(("july", "jul", "juli", "juillet", "juil", "julio", "julho", "luglio"), 7),
    **dict.fromkeys(("august", "aug", "août", "aout", "agosto", "augustus"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre", "septiembre", "setiembre", "setembro",
                     "settembre"), 9),
    **dict.fromkeys(("october", "oct", "oktober", "okt", "octobre", "octubre", "outubro",
                     "ottobre"), 10),
    **dict.fromkeys(("november", "nov", "novembre", "noviembre", "novembro"), 11),
    **dict.fromkeys(("december", "dec", "dezember", "dez", "décembre", "decembre", "déc",
                     "diciembre", "dezembro", "dicembre"), 12),
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"((?:19|20)\d{2})"
VISIBLE_DATES = (
    # 14.12.2019, 14. 12. 2019
    (re.compile(r"(?<![\d.])(\d{1,2})\.\s?(\d{1,2})\.\s?" + _YEAR + r"(?!\d)"), "dmy"),
    # 2019-12-14
    (re.compile(_YEAR + r"-(\d{1,2})-(\d{1,2})(?!\d)"), "ymd"),
    # 14. Dezember 2019, 14 décembre 2019, 3rd December 2011, 31 de marzo de 2016
    (re.compile(r"(?<!\d)(\d{1,2})(?:\.|st|nd|rd|th|er|º)?\s+(?:de\s+)?(" + _MONTH
                + r")\.?,?\s+(?:de\s+|del\s+)?" + _YEAR, re.I), "dMy"),
    # December 14, 2019, Juni 19th, 2018
    (re.compile(r"\b(" + _MONTH + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+" + _YEAR, re.I), "Mdy"),
    # 2019年6月18日 (Chinese, Japanese), 2019.09.07 (Korean)
    (re.compile(_YEAR + r"\s?年\s?(\d{1,2})\s?月\s?(\d{1,2})\s?日"), "ymd"),
    (re.compile(r"(?<![\d.])" + _YEAR + r"\.\s?(\d{1,2})\.\s?(\d{1,2})(?!\d)"), "ymd"),
    # 08/01/2014: the 8th of January, or August 1st on an English page ("slash" is resolved by
    # the page's language in visible_date)
    (re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/" + _YEAR + r"(?![\d/])"), "slash"),
)
# Languages whose pages write a slashed date month first (08/01/2014 is August 1st).
MONTH_FIRST_LANGUAGES = frozenset({"en"})
_UPDATED = re.compile(r"(?:updated|update|aktualisiert|geändert|modified|mis à jour|modifié|"
                      r"last edited|zuletzt|更新|最后更新|수정)\W{0,3}(?:\w+\W{1,3}){0,3}$", re.I)
_PUBLISHED = re.compile(r"(?:published|posted|veröffentlicht|erschienen|publié|datum|date|"
                        r"stand|发布时间|发布日期|发表时间|发表于|公開日|配信日|掲載日|입력|등록)"
                        r"\W{0,3}(?:\w+\W{1,3}){0,3}$", re.I)
# The label may also follow the date: "Dieser Beitrag wurde am 3. Dezember 2011 veröffentlicht".
_PUBLISHED_AFTER = re.compile(r"^\W{0,3}(?:\w+\W{1,3}){0,4}?(?:veröffentlicht|erschienen|publiziert|"
                              r"gepostet|publié|published|posted)\b", re.I)
# An unlabelled date counts only in the byline's reach of the heading, or a little further when
# the element holding it says it is a date ("nfy-ar-date", "entry-date"); a date labelled as the
# publication ("Veröffentlicht am …") anywhere in the article, which some sites print at its end.
BYLINE_REACH, DATE_ELEMENT_REACH, WINDOW_BEFORE, WINDOW_AFTER = 400, 1_500, 300, 20_000


_UPDATED_CLASS = re.compile(r"updated|modified|date-?mod", re.I)
_DATE_CLASS = re.compile(r"date|datum|time|byline|dateline|published", re.I)


def _day(match: re.Match, order: str) -> date | None:
    g = match.groups()
    try:
        if order == "mdy":
            return date(int(g[2]), int(g[0]), int(g[1]))
        if order == "dmy":
            return date(int(g[2]), int(g[1]), int(g[0]))
        if order == "ymd":
            return date(int(g[0]), int(g[1]), int(g[2]))
        if order == "dMy":
            return date(int(g[2]), MONTHS[g[1].lower()], int(g[0]))
        return date(int(g[2]), MONTHS[g[0].lower()], int(g[1]))
    except (ValueError, KeyError):
        return None


@dataclass
class _Flat:
    """The page's visible text in document order, where the heading starts in it, and the
    spans of the elements whose class says they hold a date."""
    text: str
    heading_at: int
    date_spans: list[tuple[int, int]]

    def in_date_element(self, pos: int) -> bool:
        return any(start <= pos < end for start, end in self.date_spans)


_HIDDEN = ("script", "style", "noscript", "template")


def _text_around(tree: lxml_html.HtmlElement, heading: lxml_html.HtmlElement) -> _Flat:
    pieces: list[str] = []
    size = 0
    at = -1
    spans: list[tuple[int, int]] = []

    def walk(el: lxml_html.HtmlElement) -> None:
        nonlocal size, at
        if el is heading:
            at = size
        cls = el.get("class") or ""
        if el.tag in _HIDDEN or _UPDATED_CLASS.search(cls):
            return
        start = size
        pieces.append(el.text or "")
        size += len(pieces[-1])
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            pieces.append(" " + (child.tail or ""))
            size += len(pieces[-1])
        if _DATE_CLASS.search(cls):
            spans.append((start, size))

    walk(tree)
    return _Flat("".join(pieces), at, spans)


def visible_date(tree: lxml_html.HtmlElement, heading: lxml_html.HtmlElement | None,
                 now: datetime, language: str | None = None) -> Published | None:
    """The date printed nearest the article's heading (a byline or dateline), skipping dates
    labelled as updates; a labelled publication date wins over a nearer unlabelled one."""
    if heading is None:
        return None
    flat = _text_around(tree, heading)
    at = flat.heading_at
    if at < 0:
        return None
    start = max(0, at - WINDOW_BEFORE)
    window = flat.text[start: at + WINDOW_AFTER]
    heading_at = at - start
    best: tuple[float, date] | None = None
    for pattern, order in VISIBLE_DATES:
        if order == "slash":
            order = "mdy" if (language or "en") in MONTH_FIRST_LANGUAGES else "dmy"
        for m in pattern.finditer(window):
            day = _day(m, order)
            if day is None or not plausible_instant(datetime.combine(day, time(), UTC), now):
                continue
            before = window[max(0, m.start() - 40): m.start()]
            if _UPDATED.search(before):
                continue
            distance = abs(m.start() - heading_at) + (200 if m.start() < heading_at else 0)
            if _PUBLISHED.search(before) or _PUBLISHED_AFTER.match(window[m.end(): m.end() + 60]):
                distance /= 50
            elif distance > BYLINE_REACH and not (distance <= DATE_ELEMENT_REACH
                                                   and flat.in_date_element(start + m.start())):
                continue
            if best is None or distance < best[0]:
                best = (distance, day)
    if best is None:
        return None
    return Published(datetime.combine(best[1], time(), UTC), "day", "date printed by the heading")


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
    """``found`` unless its instant is implausible (``ingest.dates.plausible``)."""
    return found if found is not None and plausible_instant(found.utc, now) else None


def find_published(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], *,
                   url: str | None = None, now: datetime | None = None,
                   heading: lxml_html.HtmlElement | None = None,
                   search: bool = True, language: str | None = None) -> Published | None:
    """The page's publication time, or None when it gives none that is plausible.
    ``heading`` is the article's heading element, near which a byline's date is looked for;
    ``language`` (the page's, "es") says how a slashed date reads."""
    now = now or datetime.now(UTC)
    sources = (  # in order, each read only when the ones before it found nothing
        lambda: _from_ld(ld),
        lambda: next((f for f in (read_stamp(metas.get(k), f"meta {k}") for k in PUBLISHED_META)
                      if plausible(f, now)), None),
        lambda: _from_markup(tree),
        lambda: visible_date(tree, heading, now, language),
    )
    for source in sources:
        found = plausible(source(), now)
        if found:
            return found
    return plausible(_from_search(tree, url), now) if search else None
