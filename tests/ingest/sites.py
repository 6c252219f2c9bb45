"""Pages and feeds written for the ingest tests (our own text), and helpers to build settings
and sources files pointing at a local HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from finpulse.schemas import Article, decode
from finpulse.settings import IngestSettings

LOOPBACK = ("127.0.0.0/8", "::1/128")


def article_html(title: str, paragraphs: list[str], *, published: str | None = None,
                 author: str | None = None, canonical: str | None = None,
                 charset_meta: str | None = None, site: str = "Example Wire") -> str:
    head = [f"<title>{title} | {site}</title>"]
    if charset_meta:
        head.insert(0, f'<meta charset="{charset_meta}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    if author:
        head.append(f'<meta name="author" content="{author}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang=\"en\"><head>{''.join(head)}</head><body>"
        f"<nav><a href=\"/\">Home</a> <a href=\"/markets\">Markets</a></nav>"
        f"<article><h1>{title}</h1>{body}</article>"
        f"<footer>Copyright Example Wire. All rights reserved.</footer></body></html>"
    )


def rss(items: list[dict], *, title: str = "Example Wire", encoding: str = "utf-8") -> str:
    out = [f'<?xml version="1.0" encoding="{encoding}"?>',
           '<rss version="2.0"><channel>', f"<title>{title}</title><link>https://example.invalid/</link>"]
    for it in items:
        out.append("<item>")
        for key in ("title", "link", "description", "pubDate", "guid"):
            if key in it:
                out.append(f"<{key}>{it[key]}</{key}>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "".join(out)


def atom(entries: list[dict]) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">',
           "<title>Example Atom</title><id>urn:example:atom</id><updated>2025-06-10T10:00:00Z</updated>"]
    for e in entries:
        out.append(f"<entry><title>{e['title']}</title><link href=\"{e['link']}\"/><id>{e['link']}</id>"
                   f"<updated>{e['updated']}</updated><summary>{e.get('summary', '')}</summary>"
                   f"<author><name>{e.get('author', 'Desk')}</name></author></entry>")
    out.append("</feed>")
    return "".join(out)


LOREM = [
    "Shares of Northwind Traders rose sharply on Tuesday after the company reported quarterly "
    "revenue well above analyst estimates and raised its full-year outlook.",
    "The retailer said online sales grew by a third from a year earlier, helped by strong demand "
    "for home goods and a new same-day delivery service in twelve cities.",
    "Chief executive Dana Whitfield told analysts on a conference call that margins would keep "
    "improving as the company closes unprofitable stores.",
]


def ingest_settings(tmp_path: Path, **overrides) -> IngestSettings:
    base = dict(
        state_dir=tmp_path / "state", allow_networks=LOOPBACK, per_host_rate_per_s=200.0,
        per_host_concurrency=4, timeout_s=2.0, max_body_bytes=200_000, max_retry_wait_s=3.0,
        sources_file=tmp_path / "sources.yaml",
    )
    base.update(overrides)
    return IngestSettings(**base)


def write_sources(path: Path, sources: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False), encoding="utf-8")
    return path


def read_articles(path: Path) -> list[Article]:
    if not path.exists():
        return []
    return [decode(Article, line) for line in path.read_bytes().splitlines() if line.strip()]


def read_dead_letters(out: Path) -> list[dict]:
    dlq = out.with_suffix(".dlq.jsonl")
    if not dlq.exists():
        return []
    return [json.loads(line) for line in dlq.read_bytes().splitlines() if line.strip()]
