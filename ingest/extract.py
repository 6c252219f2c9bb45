"""Article pages to text, title, author, date and canonical URL. Pure: bytes in, values out.

Text comes from trafilatura (main content without navigation and boilerplate); the title from
og:title, the page's <h1> or its <title> less the site's suffix; the time of publication from
JSON-LD, meta tags or <time> (to the second, in UTC), falling back to trafilatura's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from ingest.canonical import choose_canonical
from ingest.dates import parse_date
from ingest.encoding import decode_body
from ingest.page_meta import PageMeta, read_meta
from ingest.parse_errors import ParseError
from ingest.text import clean_space

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


def _parse_html(text: str):  # lxml element
    try:
        parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True)
        tree = lxml_html.fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not parseable as HTML: {exc}") from exc
    if tree is None:
        raise ParseError("empty HTML document")
    return tree


def _title(meta: PageMeta, extracted: str | None) -> str:
    if meta.og_title:
        return meta.og_title
    if meta.h1 and len(meta.h1) <= 300:
        return meta.h1
    if extracted:
        return clean_space(extracted)
    return _SITE_SUFFIX.sub("", meta.html_title or "").strip()


def _body_text(text: str, title: str) -> str:
    lines = clean_space(text).split("\n")
    if lines and lines[0].strip() == title:
        lines = lines[1:]
    return "\n".join(lines).strip()


def extract_page(body: bytes, *, url: str, content_type: str | None = None) -> Page:
    """The article in an HTML page fetched from ``url``; ``ParseError`` if there is none."""
    text, _ = decode_body(body, content_type)
    if not text.strip():
        raise ParseError("empty page")
    tree = _parse_html(text)
    meta = read_meta(tree)
    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=False,
            favor_precision=True,
        )
    except Exception as exc:  # extraction libraries raise anything on odd pages
        raise ParseError(f"extraction failed: {type(exc).__name__}: {exc}") from exc
    if doc is None or len((doc.text or "").strip()) < MIN_TEXT_CHARS:
        raise ParseError("no article text found on the page")
    title = _title(meta, doc.title)
    return Page(
        url=choose_canonical(url, meta.canonical, meta.og_url),
        title=title,
        text=_body_text(doc.text, title),
        author=meta.author or (doc.author or None),
        published=meta.published or parse_date(doc.date),
        language=meta.lang,
    )
