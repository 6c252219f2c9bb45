"""Is this page an article? Home pages, section fronts, videos, galleries, error and consent
pages and other non-articles (shops, terms, wikis, about pages) are refused before they reach
the stream as if they were news.

The decision reads what the page says of itself (JSON-LD ``@type``, ``og:type``), the shape of
its URL, how much of it is links to other pages, and how much text it has. It leans towards
keeping: a page is refused only on a clear sign, and the sign is its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from lxml import html as lxml_html

from ingest.page_meta import ARTICLE_TYPES, ld_types
from ingest.text import word_count

Kind = Literal["article", "home", "section", "video", "gallery", "error", "consent", "other"]

NON_ARTICLE_LD: dict[str, Kind] = {
    "collectionpage": "section", "itemlist": "section", "searchresultspage": "section",
    "videoobject": "video", "videogallery": "video", "imagegallery": "gallery",
    "product": "other", "offer": "other", "localbusiness": "other", "aboutpage": "other",
    "contactpage": "other", "faqpage": "other", "profilepage": "other", "event": "other",
    "store": "other", "recipe": "other",
}
NON_ARTICLE_OG: dict[str, Kind] = {
    "product": "other", "company": "other", "object": "other", "profile": "other",
    "book": "other", "business.business": "other", "place": "other", "music.song": "other",
    "video.movie": "video", "video.other": "video", "video.episode": "video",
}
# Path segments that name what is not news.
_OTHER_PATH = re.compile(
    r"/(?:about(?:-us)?|impressum|imprint|terms(?:-of-(?:use|service))?|tos|legal|licen[cs]es?|"
    r"contact|kontakt|privacy|datenschutz|agb|wiki|produkte?|products?|shop|warenkorb|cart|"
    r"termine|veranstaltung(?:en)?|events?|jobs|karriere|careers|login|register|licensing|"
    r"leistungen|services?|dienstleistungen)(?:/|\.|$)", re.I)
_WIKI_PATH = re.compile(r"/wiki/", re.I)
VIDEO_MAX_WORDS = 100
MICRODATA_MAIN = ARTICLE_TYPES | {"product"}
# A listing's URL ends at the listing word or one step below it ("/tag/", "/category/markets/").
_SECTION_PATH = re.compile(r"/(?:tag|tags|category|categories|kategorie|rubrik|themen?|topics?|"
                           r"archive?|archiv|search|suche|page)(?:/[^/]*)?/?$", re.I)
# A generated item id ("/topic/7PM49H7yjs5" is one story): digits and letters of both cases.
_ITEM_ID = re.compile(r"(?=.*\d)(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9]{8,}")
_YEAR_ARCHIVE = re.compile(r"^/\d{4}/(?:\d{2}/)?$")
_LANGUAGES = "en|de|fr|es|it|nl|pt|ja|zh|ru|pl|sv|da|no|fi|tr|ko|ar|cs|hu|el|ro|he|uk|id"
_HOME_PATH = re.compile(rf"^/?(?:(?:{_LANGUAGES})(?:[-_][a-z]{{2}})?/?)?(?:index\.(?:html?|php|aspx?))?$",
                        re.I)
_ERROR_TITLE = re.compile(r"\b(?:404|410|not found|page not found|seite nicht gefunden|"
                          r"page introuvable|fehler|error)\b", re.I)
_CONSENT = re.compile(r"\b(?:cookie|cookies|consent|einwilligung|zustimmen|accept all|"
                      r"alle akzeptieren|tout accepter|privacy settings)\b", re.I)


@dataclass(frozen=True)
class PageType:
    kind: Kind
    reason: str
    by_teasers: bool = False  # a section front only by its density of headline links

    @property
    def is_article(self) -> bool:
        return self.kind == "article"


def _declared_types(tree: lxml_html.HtmlElement, ld: list[dict]) -> set[str]:
    """The schema.org types the page declares, in JSON-LD or in microdata ``itemtype``."""
    out = {k for item in ld for k in ld_types(item)}
    # Microdata marks widgets too (a sidebar's LocalBusiness, a slider's ImageGallery): only
    # the kinds that describe the page's main item are read from it.
    for node in tree.xpath("//*[@itemtype]")[:50]:
        for k in (node.get("itemtype") or "").split():
            kind = k.rstrip("/").rsplit("/", 1)[-1].lower()
            if kind in MICRODATA_MAIN:
                out.add(kind)
    return out


def _video_page(tree: lxml_html.HtmlElement, words: int) -> bool:
    """A player and a few lines around it."""
    players = tree.xpath("//video | //iframe[contains(@src, 'youtube') or contains(@src, 'vimeo') "
                         "or contains(@src, 'dailymotion') or contains(@src, 'player')]")
    return bool(players) and words < VIDEO_MAX_WORDS


def _teaser_links(tree: lxml_html.HtmlElement, text: str) -> tuple[int, int]:
    """Links whose text reads like another story's headline (five words or more), and how
    many of the main text's words are theirs."""
    count = in_text = 0
    counted: set[str] = set()
    for a in tree.iter("a"):
        label = " ".join(a.text_content().split())
        n = word_count(label)
        if n >= 5:
            count += 1
            if label not in counted and label in text:  # a label repeated is in the text once
                counted.add(label)
                in_text += n
    return count, in_text


def classify(tree: lxml_html.HtmlElement, metas: dict[str, str], ld: list[dict], *, url: str,
             title: str | None, text: str) -> PageType:
    """What kind of page this is; ``text`` is the main text the extractor found."""
    types = _declared_types(tree, ld)
    og_type = (metas.get("og:type") or "").strip().lower()
    parts = urlsplit(url)
    path = parts.path or "/"
    words = word_count(text)
    if title and _ERROR_TITLE.search(title) and words < 150:
        return PageType("error", f"error page ({title.strip()[:60]!r})")
    if words < 120 and len(_CONSENT.findall(text)) >= 2 and tree.find(".//form") is not None:
        return PageType("consent", "a cookie or consent notice, no article")
    if _WIKI_PATH.search(path):
        return PageType("other", f"a wiki entry ({path})")
    if _HOME_PATH.match(path) and not parts.query:
        # before the declared types: a front page's teasers declare themselves articles
        return PageType("home", f"home page ({path})")
    if types & ARTICLE_TYPES:
        return PageType("article", f"declared {sorted(types & ARTICLE_TYPES)[0]}")
    for ld_type, kind in NON_ARTICLE_LD.items():
        if ld_type in types:
            return PageType(kind, f"declared type {ld_type}")
    if og_type in NON_ARTICLE_OG:
        return PageType(NON_ARTICLE_OG[og_type], f"og:type {og_type}")
    if _YEAR_ARCHIVE.match(path) or (_SECTION_PATH.search(path) and not _ITEM_ID.fullmatch(
            path.rstrip("/").rsplit("/", 1)[-1])):
        return PageType("section", f"section or archive URL ({path})")
    if _OTHER_PATH.search(path):
        return PageType("other", f"not a news URL ({path})")
    if _video_page(tree, words):
        return PageType("video", f"a video player and {words} words of text")
    teasers, teaser_words = _teaser_links(tree, " ".join(text.split()))
    own = max(0, words - teaser_words)
    if teasers >= 25 and own < 2 * teasers:
        return PageType("section", f"{teasers} headline links around {own} words of text",
                        by_teasers=True)
    return PageType("article", "no sign of another kind")
