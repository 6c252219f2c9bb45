"""Fuzzing the feed, sitemap and page parsers and the replay file reader with documents that
look like the real thing (tests/ingest/test_parsers_properties.py feeds them arbitrary bytes).

Contracts: ``parse_feed``, ``parse_sitemap`` and ``extract_page`` return a value or raise
``ParseError``; ``parse_date`` returns an aware UTC datetime or None; a replay file gives good
rows and ``BadRow``s naming the line (or ``ConfigError`` naming the file), and every good row
becomes an article that can be published or a ``RowError``. Messages are bounded.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from finpulse.errors import ConfigError
from finpulse.schemas import Article, DeadLetter
from ingest.canonical import normalize_url
from ingest.dates import parse_date
from ingest.extract import extract_page
from ingest.feeds import parse_feed
from ingest.parse_errors import ParseError
from ingest.replay import Replay, RowError, row_to_article
from ingest.replay_rows import BadRow, Row, read_rows
from ingest.sitemaps import parse_sitemap
from tests.fuzz.conftest import check_message, fuzz

pytestmark = pytest.mark.unit

URL = "https://example.com/news/"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
BODY = "Stocks rose sharply today as investors cheered strong quarterly earnings reports. " * 4

# -- hostile pieces --------------------------------------------------------------------------

HOSTILE_URLS = [
    "http://[", "https://[::1", "http://[x]/a", "//[", "https://[::1]:99999/a", "http://e.com:99999/",
    "javascript:alert(1)", "data:text/html,x", "mailto:a@b.c", "", " ", "http://", "https://",
    "../up", "/rooted", "?q=1", "#frag", "https://e.com/" + "a" * 20_000, "http://exa mple.com/",
    "http://\u2100.com/", "https://e\x00.com/", "https://ex\u00e4mple.com/\u00fc", "\U0001F4C8://x",
]
HOSTILE_DATES = [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31T23:59:59",
    "Mon, 01 Jan 0001 00:00:00 +0100", "Fri, 31 Dec 9999 23:59:59 -2359", "2026-02-30T00:00:00Z",
    "2026-11-28T12:00:00+24:00", "2026-11-28T12:00:00+23:59", "Mon, 32 Foo 2026 25:61:61 +9999",
    "1e400", "-1", "99999999999999999999", "2026-11-28T12:00:00.1234567890Z", "\x00", "Z",
]
HOSTILE_TEXT = [
    "&amp;", "&#0;", "&#xD800;", "&#1114112;", "&bogus;", "<![CDATA[", "]]>", "<b>bold", "</item>",
    "\x00", "\x0b\x0c", "\ufeff", "\u202e", "\U0001F4C8", "é" * 3, "<script>x</script>", "&lt;p&gt;",
]
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
any_datetime = st.datetimes(timezones=offsets)
date_texts = st.one_of(
    st.sampled_from(HOSTILE_DATES),
    any_datetime.map(lambda d: d.isoformat()),
    any_datetime.map(lambda d: format_datetime(d)),
    st.text(max_size=40),
)
urls = st.one_of(st.sampled_from(HOSTILE_URLS), st.text(max_size=40),
                 st.text(max_size=20).map(lambda p: "https://example.com/" + p))
texts = st.lists(st.sampled_from(HOSTILE_TEXT) | st.text(max_size=20), max_size=5).map("".join)


def xml_text(value: str, raw: bool) -> str:
    """``value`` escaped for XML, or as is (to break the document now and then)."""
    return value if raw else escape(value)


# -- documents -------------------------------------------------------------------------------

@st.composite
def rss(draw: st.DrawFn) -> bytes:
    raw = draw(st.booleans())
    items = []
    for _ in range(draw(st.integers(0, 4))):
        fields = {
            "title": draw(texts), "link": draw(urls), "pubDate": draw(date_texts),
            "description": draw(texts), "guid": draw(texts), "dc:date": draw(date_texts),
            "author": draw(texts),
        }
        chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
        items.append("<item>" + "".join(f"<{k}>{xml_text(fields[k], raw)}</{k}>" for k in chosen) + "</item>")
    doc = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
           "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel>"
           f"<title>{xml_text(draw(texts), raw)}</title>{''.join(items)}</channel></rss>")
    return doc.encode("utf-8", "surrogatepass")


@st.composite
def atom(draw: st.DrawFn) -> bytes:
    raw = draw(st.booleans())
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        link = quoteattr(draw(urls)) if not raw else f'"{draw(urls)}"'
        entries.append(
            f"<entry><title>{xml_text(draw(texts), raw)}</title><link href={link}/>"
            f"<updated>{xml_text(draw(date_texts), raw)}</updated>"
            f"<published>{xml_text(draw(date_texts), raw)}</published>"
            f"<content type='html'>{xml_text(draw(texts), raw)}</content>"
            f"<id>{xml_text(draw(texts), raw)}</id></entry>"
        )
    title = xml_text(draw(texts), raw)
    doc = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title>{''.join(entries)}</feed>"
    return doc.encode("utf-8", "surrogatepass")


@st.composite
def sitemap(draw: st.DrawFn) -> bytes:
    raw = draw(st.booleans())
    index = draw(st.booleans())
    nodes = []
    for _ in range(draw(st.integers(0, 4))):
        loc = f"<loc>{xml_text(draw(urls), raw)}</loc>"
        if index:
            nodes.append(f"<sitemap>{loc}<lastmod>{xml_text(draw(date_texts), raw)}</lastmod></sitemap>")
        else:
            nodes.append(
                f"<url>{loc}<lastmod>{xml_text(draw(date_texts), raw)}</lastmod><news:news><news:title>"
                f"{xml_text(draw(texts), raw)}</news:title><news:publication_date>"
                f"{xml_text(draw(date_texts), raw)}</news:publication_date></news:news></url>"
            )
    root = "sitemapindex" if index else "urlset"
    doc = (f"<{root} xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
           f"xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{''.join(nodes)}</{root}>")
    return doc.encode("utf-8", "surrogatepass")


json_ld_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | date_texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["@graph", "@type", "author", "name", "datePublished"]) | st.text(max_size=8),
        inner, max_size=4),
    max_leaves=12,
)


@st.composite
def page(draw: st.DrawFn) -> bytes:
    head = [f"<title>{draw(texts)}</title>"]
    for name in draw(st.lists(st.sampled_from(["article:published_time", "og:url", "og:title", "author",
                                               "date", "dc.date"]), max_size=4)):
        head.append(f"<meta property={quoteattr(name)} content={quoteattr(draw(date_texts | urls | texts))}>")
    if draw(st.booleans()):
        head.append(f"<link rel='canonical' href={quoteattr(draw(urls))}>")
    if draw(st.booleans()):
        head.append(f"<script type='application/ld+json'>{json.dumps(draw(json_ld_values))}</script>")
    body = [f"<h1>{draw(texts)}</h1>"]
    if draw(st.booleans()):
        body.append(f"<time datetime={quoteattr(draw(date_texts))}>{draw(texts)}</time>")
    body.append(f"<article><p>{draw(texts)}{BODY if draw(st.booleans()) else ''}</p></article>")
    lang = quoteattr(draw(st.sampled_from(["en", "en-GB", "", "x" * 300, "\x00"])))
    doc = f"<!DOCTYPE html><html lang={lang}><head>{''.join(head)}</head><body>{''.join(body)}</body></html>"
    return doc.encode("utf-8", "surrogatepass")


def _page_with(head: str) -> bytes:
    return f"<html><head>{head}</head><body><article><p>{BODY}</p></article></body></html>".encode()


def _utc(value: datetime | None) -> None:
    assert value is None or value.utcoffset() == timedelta(0)


def check_parse(parse, body: bytes, **kw):
    """The parser's result, or None after checking its ParseError's message."""
    try:
        return parse(body, url=URL, **kw)
    except ParseError as exc:
        check_message(exc)
        return None


# -- properties ------------------------------------------------------------------------------

@fuzz()
@given(date_texts)
@example("0001-01-01T00:00:00+01:00")  # OverflowError from astimezone, before year 1 in UTC
@example("9999-12-31T23:59:59-01:00")  # OverflowError, after year 9999 in UTC
def test_parse_date_is_utc_or_none(text: str) -> None:
    _utc(parse_date(text))


@fuzz(0.5)
@given(rss() | atom())
@example(b"<rss version='2.0'><channel><item><link>https://e.com/a</link>"
         b"<pubDate>0001-01-01T00:00:00+01:00</pubDate></item></channel></rss>")  # OverflowError
# Handled (feedparser blanks a link urlsplit refuses); kept as a check beside the sitemap's.
@example(b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><link href='http://[x'/></entry></feed>")
def test_feeds(body: bytes) -> None:
    feed = check_parse(parse_feed, body)
    if feed is not None:
        for item in feed.items:
            assert item.link.startswith(("http://", "https://"))
            _utc(item.published)


@fuzz(0.5)
@given(sitemap())
@example(b"<urlset><url><loc>http://[</loc></url></urlset>")  # ValueError: Invalid IPv6 URL
@example(b"<sitemapindex><sitemap><loc>//[::1</loc></sitemap></sitemapindex>")  # the same, in an index
@example(b"<urlset><url><loc>https://e.com/a</loc>"
         b"<lastmod>9999-12-31T23:59:59-01:00</lastmod></url></urlset>")  # OverflowError
def test_sitemaps(body: bytes) -> None:
    result = check_parse(parse_sitemap, body)
    if result is not None:
        for entry in result.entries:
            assert entry.url.startswith(("http://", "https://"))
            _utc(entry.lastmod)
            _utc(entry.published)
        assert all(child.startswith(("http://", "https://")) for child in result.children)


@fuzz(0.3)
@given(page())
@example(_page_with('<link rel="canonical" href="http://[x">'))  # ValueError from normalize_url
@example(_page_with('<meta property="og:url" content="https://[::1/a">'))  # the same, from og:url
@example(_page_with('<meta property="article:published_time" content="0001-01-01T00:00:00+01:00">'))
@example(_page_with('<script type="application/ld+json">{"@graph": 5}</script>'))  # TypeError
@example(_page_with('<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>"))
@example(_page_with('<script type="application/ld+json">{"author": ' + "[" * 900 + "]" * 900 + "}</script>"))
def test_pages(body: bytes) -> None:
    result = check_parse(extract_page, body)
    if result is not None:
        assert result.url.startswith(("http://", "https://")) and isinstance(result.text, str)
        _utc(result.published)


@pytest.mark.parametrize("url", ["http://[", "https://[::1", "http://\u2100.com/"])
def test_normalize_url_never_raises(url: str) -> None:
    # urlsplit's ValueError escaped it (found through a page's canonical link).
    assert normalize_url(url) == url


# -- replay files ----------------------------------------------------------------------------

class ListSink:
    """An ``ArticleSink`` that checks everything it is given can be encoded for Kafka."""

    failures = 0

    def __init__(self) -> None:
        self.articles: list[Article] = []
        self.letters: list[DeadLetter] = []

    def article(self, article: Article) -> None:
        article.encode()
        self.articles.append(article)

    def dead_letter(self, letter: DeadLetter) -> None:
        letter.encode()
        self.letters.append(letter)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="finpulse-fuzz-") as path:
        yield Path(path)


CSV_HEADERS = [b"text,title,url,source,published,id,author\n", b"\xef\xbb\xbftext,published\n",
               b"TEXT , Url\r\n", b"text\n", b"title,url\n", b'"text","a""b"\n', b""]
cells = st.one_of(st.sampled_from([s.encode("utf-8", "surrogatepass") for s in HOSTILE_TEXT + HOSTILE_DATES
                                   + HOSTILE_URLS[:12]]),
                  st.binary(max_size=30),
                  st.text(max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")))
csv_lines = st.lists(cells, max_size=8).map(lambda row: b",".join(row))
csv_files = st.builds(lambda h, rows, end: h + b"\n".join(rows) + end, st.sampled_from(CSV_HEADERS),
                      st.lists(csv_lines, max_size=6), st.sampled_from([b"", b"\n", b"\r\n", b'"']))
jsonl_objects = st.dictionaries(
    st.sampled_from(["text", "title", "url", "source", "published", "id", "author"]) | st.text(max_size=5),
    st.one_of(st.sampled_from(HOSTILE_TEXT + HOSTILE_DATES + HOSTILE_URLS[:12]), st.text(max_size=30),
              st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)),
    max_size=6,
).map(lambda d: json.dumps(d).encode())
jsonl_lines = st.one_of(jsonl_objects, st.binary(max_size=40), st.sampled_from([
    b'{"text": "a\\ud800"}', b'{"text": "x", "title": "\\udfff"}', b"[" * 5000 + b"]" * 5000,
    b'{"text": "x", "id": ' + b"9" * 5000 + b"}", b"\xef\xbb\xbf{}", b"NaN", b'"text"']))
jsonl_files = st.lists(jsonl_lines, max_size=6).map(lambda lines: b"\n".join(lines))


def check_replay(path: Path) -> None:
    try:
        items = list(read_rows(path))
    except ConfigError as exc:
        check_message(exc, str(path))
        return
    for item in items:
        assert item.line >= 1
        if isinstance(item, BadRow):
            assert item.reason.strip() and len(item.reason) < 1000, item.reason[:300]
            continue
        assert isinstance(item, Row)
        for value in item.data.values():
            value.encode("utf-8")  # what goes to Kafka must be UTF-8
        _utc(parse_date(item.data.get("published")))
        try:
            row_to_article(item, source="replay:fuzz", now=NOW).encode()
        except RowError as exc:
            check_message(exc)
    for timestamps in ("live", "shift"):
        sink = ListSink()
        Replay(path=path, sink=sink, source="replay:fuzz", timestamps=timestamps, speed=1e15).run()


@fuzz(0.5)
@given(st.sampled_from([".csv", ".tsv"]), csv_files)
@example(".csv", b"title," + b"x" * 1_000_000 + b"\n")  # a megabyte header repeated in the error
@example(".csv", b"text\n\xff\xfe\n")  # invalid UTF-8 in a row
@example(".csv", b"\x00text\x00\n\x00\n")
def test_replay_csv(workdir: Path, suffix: str, content: bytes) -> None:
    path = workdir / f"rows{suffix}"
    path.write_bytes(content)
    check_replay(path)


@fuzz(0.5)
@given(jsonl_files)
@example(b'{"text": "a\\ud800"}')  # a lone surrogate taken as text, then unencodable
@example(b"[" * 5000 + b"]" * 5000)  # RecursionError from json.loads
def test_replay_jsonl(workdir: Path, content: bytes) -> None:
    path = workdir / "rows.jsonl"
    path.write_bytes(content)
    check_replay(path)
