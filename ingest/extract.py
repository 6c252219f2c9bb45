"""Article pages to text, title, author, date and canonical URL. Pure: bytes in, values out.

Text comes from trafilatura (main content without navigation and boilerplate); the title from
og:title, the page's <h1> or its <title> less the site's suffix; the time of publication from
JSON-LD, meta tags or <time> (to the second, in UTC), falling back to trafilatura's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from ingest.canonical import choose_canonical
from ingest.encoding import decode_body
from ingest.headline import Candidate, SiteNames, choose_headline, heading_showing
from ingest.page_meta import PageMeta, read_meta
from ingest.pagedate import Precision, find_published
from ingest.pagetype import classify
from ingest.parse_errors import NotAnArticle, ParseError
from ingest.text import clean_space, word_count

MIN_TEXT_CHARS = 40
_SITE_SUFFIX = re.compile(r"\s+[|\-–—:·•]\s+[^|\-–—:·•]{2,60}$")


@dataclass(frozen=True)
class Page:
    url: str  # canonical
    title: str
    text: str
    author: str | None
    published: datetime | None
    language: str | None
    published_precision: Precision | None = None  # "day": the page gave a date, no time
    published_day: date | None = None  # the day the page shows, in its own time zone


def _main_text(tree, url: str, *, precise: bool):  # trafilatura's Document or None
    """The page's main text by trafilatura (which works on a copy of ``tree``), or None when it
    finds too little."""
    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=False,
            favor_precision=precise,
        )
    except Exception as exc:  # extraction libraries raise anything on odd pages
        raise ParseError(f"extraction failed: {type(exc).__name__}: {exc}") from exc
    if doc is None or len((doc.text or "").strip()) < MIN_TEXT_CHARS:
        return None
    return doc


def _is_story_headline(chosen: Candidate | None) -> bool:
    """A headline of a story's length (five words or more) shown on the page as its heading,
    as an article page has and a section front ("Markets") does not."""
    return chosen is not None and chosen.node is not None and word_count(chosen.text) >= 5


def _parse_html(text: str):  # lxml element
    try:
        parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True)
        tree = lxml_html.fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not parseable as HTML: {exc}") from exc
    if tree is None:
        raise ParseError("empty HTML document")
    return tree


def _title(tree, chosen: Candidate | None, meta: PageMeta, extracted: str | None
           ) -> tuple[str, object]:
    """The headline, and its element on the page (None when it is only declared and no
    heading shows it)."""
    if chosen:
        return chosen.text, chosen.node if chosen.node is not None else heading_showing(tree, chosen.text)
    if extracted:
        return clean_space(extracted), None
    return _SITE_SUFFIX.sub("", meta.html_title or "").strip(), None


def _body_text(text: str, title: str) -> str:
    lines = clean_space(text).split("\n")
    if lines and lines[0].strip() == title:
        lines = lines[1:]
    return "\n".join(lines).strip()


def extract_page(body: bytes, *, url: str, content_type: str | None = None,
                 site_names: SiteNames | None = None) -> Page:
    """The article in an HTML page fetched from ``url``; ``NotAnArticle`` for a home page,
    section front, video or other non-article, ``ParseError`` if the page has no text.
    ``site_names`` learns each site's name across its pages (the crawler keeps one)."""
    text, _ = decode_body(body, content_type)
    if not text.strip():
        raise ParseError("empty page")
    tree = _parse_html(text)
    meta = read_meta(tree)
    if site_names is not None:
        site_names.learn((urlsplit(url).hostname or "").lower(), meta.html_title)
    # The headline is chosen once: when deciding whether this is an article needs it, or after.
    headline = cache(lambda: choose_headline(tree, meta.metas, meta.ld, url=url,
                                             html_title=meta.html_title, learned=site_names))

    doc = _main_text(tree, url, precise=True)
    kind = classify(tree, meta.metas, meta.ld, url=url, title=meta.html_title, text=doc.text) \
        if doc is not None else None
    if (kind is None or kind.by_teasers) and _is_story_headline(headline()):
        # The precise pass keeps to the block it is surest of, which on a portal's article
        # page can be the "most read" list rather than the story, or nothing: where the page
        # shows a story's headline, a balanced pass decides.
        balanced = _main_text(tree, url, precise=False)
        if balanced is not None:
            doc = balanced
            kind = classify(tree, meta.metas, meta.ld, url=url, title=meta.html_title, text=doc.text)
    if doc is None or kind is None:
        raise ParseError("no article text found on the page")
    if not kind.is_article:
        raise NotAnArticle(kind.kind, kind.reason)
    title, heading = _title(tree, headline(), meta, doc.title)
    found = find_published(tree, meta.metas, meta.ld, url=url, heading=heading, language=meta.lang)
    return Page(
        url=choose_canonical(url, meta.canonical, meta.og_url),
        title=title,
        text=_body_text(doc.text, title),
        author=meta.author or (doc.author or None),
        published=found.utc if found else None,
        language=meta.lang,
        published_precision=found.precision if found else None,
        published_day=found.day if found else None,
    )
