"""Metadata from an article page's <head> and markup: canonical URL, og:url, titles, author and
the publication time (with its time of day, which trafilatura's day-precision date lacks)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from lxml import html as lxml_html

from ingest.dates import parse_date
from ingest.text import clean_space

DATE_META = (
    "article:published_time", "og:published_time", "published_time", "pubdate",
    "publishdate", "date", "dc.date", "dc.date.issued", "dcterms.created", "sailthru.date",
    "parsely-pub-date", "article.published",
)
AUTHOR_META = ("author", "article:author", "parsely-author", "dc.creator", "byl")


@dataclass(frozen=True)
class PageMeta:
    canonical: str | None
    og_url: str | None
    og_title: str | None
    html_title: str | None
    h1: str | None
    author: str | None
    published: datetime | None
    lang: str | None
    metas: dict[str, str]  # every <meta> by its lower-cased property, name or itemprop
    ld: list[dict]  # every JSON-LD object, @graph members included


def metas_of(tree: lxml_html.HtmlElement) -> dict[str, str]:
    out: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        value = (meta.get("content") or "").strip()
        if key and value and key not in out:
            out[key] = value
    return out


def json_ld(tree: lxml_html.HtmlElement) -> list[dict]:
    found: list[dict] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    found.extend(x for x in graph if isinstance(x, dict))
    return found


def _ld_author(value: object, depth: int = 0) -> str | None:
    if isinstance(value, list):
        if depth >= 3:  # a list of names, or of lists of names; deeper is not an author
            return None
        names = [a for a in (_ld_author(v, depth + 1) for v in value) if a]
        return ", ".join(names) or None
    if isinstance(value, dict):
        value = value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _published(metas: dict[str, str], ld: list[dict], tree: lxml_html.HtmlElement) -> datetime | None:
    for item in ld:
        value = parse_date(item.get("datePublished") if isinstance(item.get("datePublished"), str) else None)
        if value:
            return value
    for key in DATE_META:
        value = parse_date(metas.get(key))
        if value:
            return value
    for node in tree.iter("time"):
        value = parse_date(node.get("datetime"))
        if value:
            return value
    return None


def _text_of(tree: lxml_html.HtmlElement, tag: str) -> str | None:
    node = next(tree.iter(tag), None)
    text = clean_space(node.text_content()) if node is not None else ""
    return text or None


def read_meta(tree: lxml_html.HtmlElement) -> PageMeta:
    metas = metas_of(tree)
    ld = json_ld(tree)
    canonical = next(
        (link.get("href") for link in tree.iter("link")
         if "canonical" in (link.get("rel") or "").lower().split() and link.get("href")),
        None,
    )
    author = next((metas[k] for k in AUTHOR_META if metas.get(k) and "://" not in metas[k]), None)
    author = author or next((a for a in (_ld_author(i.get("author")) for i in ld) if a), None)
    root = tree.getroottree().getroot()
    return PageMeta(
        canonical=canonical,
        og_url=metas.get("og:url"),
        og_title=clean_space(metas["og:title"]) if metas.get("og:title") else None,
        html_title=_text_of(tree, "title"),
        h1=_text_of(tree, "h1"),
        author=author,
        published=_published(metas, ld, tree),
        lang=(root.get("lang") or "").split("-")[0].lower() or None,
        metas=metas,
        ld=ld,
    )
