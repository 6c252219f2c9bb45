"""Property tests: the parsers, fed arbitrary bytes, return a value or raise our own
``ParseError`` (which the crawler dead-letters) and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.canonical import choose_canonical, normalize_url
from ingest.dates import parse_date
from ingest.encoding import decode_body
from ingest.enrich import title_from_text
from ingest.extract import extract_page
from ingest.feeds import parse_feed
from ingest.parse_errors import ParseError
from ingest.sitemaps import parse_sitemap

pytestmark = pytest.mark.unit
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Arbitrary bytes, and bytes that start like the real thing so the parsers get past the door.
PREFIXES = [b"", b"<?xml version='1.0' encoding='iso-8859-1'?>", b"<rss version='2.0'><channel><item>",
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>", b"<!DOCTYPE html><html><head>",
            b"\xef\xbb\xbf<html><body><article><p>", b"<urlset><url><loc>", b"\xff\xfe<\x00h\x00"]
documents = st.builds(lambda p, b: p + b, st.sampled_from(PREFIXES), st.binary(max_size=2000))
content_types = st.one_of(st.none(), st.sampled_from(["text/html; charset=utf-8", "text/xml; charset=bogus",
                                                      "application/rss+xml; charset=iso-8859-1",
                                                      "text/html; charset="]))


@FAST
@given(documents, content_types)
def test_parse_feed_never_raises_anything_else(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(body, url="https://example.com/feed.xml", content_type=content_type)
    except ParseError:
        return
    assert all(item.link.startswith(("http://", "https://")) for item in feed.items)


@FAST
@given(documents, content_types)
def test_extract_page_never_raises_anything_else(body: bytes, content_type: str | None) -> None:
    try:
        page = extract_page(body, url="https://example.com/a", content_type=content_type)
    except ParseError:
        return
    assert page.url.startswith("https://") and isinstance(page.text, str)


@FAST
@given(documents)
def test_parse_sitemap_never_raises_anything_else(body: bytes) -> None:
    try:
        sitemap = parse_sitemap(body, url="https://example.com/sitemap.xml")
    except ParseError:
        return
    assert all(e.url.startswith(("http://", "https://")) for e in sitemap.entries)


@FAST
@given(st.binary(max_size=3000), content_types)
def test_decode_body_always_gives_text(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_body(body, content_type)
    assert isinstance(text, str) and encoding


@FAST
@given(st.text(max_size=300), st.text(max_size=100))
def test_url_and_date_helpers_never_raise(value: str, other: str) -> None:
    normalize_url(value)
    normalize_url(value, base="https://example.com/x/")
    choose_canonical("https://example.com/a/b", value, other)
    parse_date(value)
    assert len(title_from_text(value)) <= 201


@pytest.mark.parametrize("body", [b"\x00" * 100, b"<" * 5000, b"<html>" * 2000, "é".encode("utf-16")])
def test_pathological_inputs(body: bytes) -> None:
    for parse in (parse_feed, extract_page, parse_sitemap):
        try:
            parse(body, url="https://example.com/")
        except ParseError:
            pass
