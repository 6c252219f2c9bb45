"""XML sitemaps (including Google News sitemaps and sitemap indexes) to URLs. Pure.

Parsed with entity resolution and network access off, so a hostile sitemap cannot read files
or make requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from lxml import etree

from ingest.dates import parse_date
from ingest.encoding import as_utf8_xml, decode_body
from ingest.parse_errors import ParseError

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: datetime | None
    title: str | None  # news:title
    published: datetime | None  # news:publication_date


@dataclass(frozen=True)
class Sitemap:
    entries: list[SitemapEntry]
    children: list[str]  # from a <sitemapindex>


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(node, name: str, ns: str | None = None) -> str | None:
    for child in node.iter():
        tag = child.tag if isinstance(child.tag, str) else ""
        if _local(tag) == name and (ns is None or tag.startswith("{" + ns)):
            try:
                text = child.text
            except UnicodeDecodeError:  # recover=True keeps e.g. &#xD800; as bytes lxml cannot decode
                return None
            return (text or "").strip() or None
    return None


def _newest_first(entry: SitemapEntry) -> float:
    when = entry.published or entry.lastmod
    return -when.timestamp() if when else 0.0


def parse_sitemap(body: bytes, *, url: str, content_type: str | None = None) -> Sitemap:
    """Entries (newest first when dated) and child sitemaps of a sitemap fetched from ``url``."""
    text, _ = decode_body(body, content_type)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(as_utf8_xml(text), parser=parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not a sitemap: {exc}") from exc
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        raise ParseError(f"not a sitemap: root element is {_local(getattr(root, 'tag', None)) or 'missing'}")
    entries, children = [], []
    for node in root:
        loc = _child_text(node, "loc")
        if not loc:
            continue
        try:
            absolute = urljoin(url, loc)
        except ValueError:  # urlsplit refuses some spellings, e.g. "http://[" (invalid IPv6)
            continue
        if not absolute.startswith(("http://", "https://")):
            continue
        if _local(node.tag) == "sitemap":
            children.append(absolute)
        elif _local(node.tag) == "url":
            entries.append(SitemapEntry(
                url=absolute,
                lastmod=parse_date(_child_text(node, "lastmod")),
                title=_child_text(node, "title", NEWS_NS),
                published=parse_date(_child_text(node, "publication_date", NEWS_NS)),
            ))
    entries.sort(key=_newest_first)
    return Sitemap(entries=entries, children=children)
