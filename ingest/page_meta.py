"""Metadata from an article page's <head> and markup: canonical URL, og:url, the <title>,
author, language, every <meta> and every JSON-LD object (which ``headline``, ``pagedate`` and
``pagetype`` read), and the schema.org types the page declares."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import html as lxml_html

from ingest.text import clean_space

ARTICLE_TYPES = frozenset({"article", "newsarticle", "blogposting", "reportagenewsarticle",
                           "analysisnewsarticle", "opinionnewsarticle", "report", "pressrelease",
                           "socialmediaposting", "liveblogposting", "scholarlyarticle", "techarticle",
                           "backgroundnewsarticle", "reviewnewsarticle", "posting"})
AUTHOR_META = ("author", "article:author", "parsely-author", "dc.creator", "byl")


@dataclass(frozen=True)
class PageMeta:
    canonical: str | None
    og_url: str | None
    html_title: str | None
    author: str | None
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


def ld_types(item: dict) -> set[str]:
    """A JSON-LD object's ``@type``s, lower-cased (one or a list)."""
    kind = item.get("@type")
    return {k.lower() for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}


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
        html_title=_text_of(tree, "title"),
        author=author,
        lang=(root.get("lang") or "").split("-")[0].lower() or None,
        metas=metas,
        ld=ld,
    )
