"""Pure pieces of ingest, tested on strings and bytes with no network."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest

from finpulse.errors import ConfigError
from finpulse.http import retry_after_s
from ingest.canonical import choose_canonical, normalize_url
from ingest.encoding import decode_body
from ingest.enrich import title_from_text
from ingest.neardup import NearDuplicates, from_bytes, signature, to_bytes
from ingest.netguard import AddressPolicy
from ingest.robots import parse_robots
from ingest.sources import FeedSource, ReplaySource, load_sources, parse_sources

pytestmark = pytest.mark.unit


def test_sources_file_errors_name_every_bad_entry() -> None:
    doc = {"sources": [
        {"name": "ok", "type": "feed", "url": "https://ex.com/rss"},
        {"name": "ftp", "type": "feed", "url": "ftp://ex.com/rss"},
        {"name": "typo", "type": "feed", "url": "https://ex.com/a", "pol_s": 3},
        {"name": "kind", "type": "blog", "url": "https://ex.com/"},
        {"name": "ok", "type": "page", "url": "https://ex.com/p"},
        {"type": "replay"},
        "just a string",
    ]}
    with pytest.raises(ConfigError) as err:
        parse_sources(doc, origin="sources.yaml")
    lines = str(err.value).splitlines()
    assert lines[0] == "sources.yaml: 6 bad source(s):"
    assert lines[1].startswith("  sources[1] (ftp): url: Value error, url must be an http(s) URL")
    assert lines[2] == "  sources[2] (typo): pol_s: Extra inputs are not permitted"
    assert lines[3] == (
        "  sources[3] (kind): 'type' must be one of feed, sitemap, page, replay, push (got 'blog')"
    )
    assert lines[4] == "  sources[4] (ok): duplicate name 'ok'"
    assert lines[5].startswith("  sources[5]: ")
    assert "name: Field required" in lines[5] and "path: Field required" in lines[5]
    assert lines[6] == "  sources[6]: expected a mapping with name, type and url/path, got str"


def test_sources_file_resolves_replay_paths_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - {name: r, type: replay, path: data/x.csv}\n  - {name: f, type: feed, url: 'https://ex.com/f'}\n")
    replay, feed = load_sources(path)
    assert isinstance(replay, ReplaySource) and replay.path == tmp_path / "data" / "x.csv"
    assert isinstance(feed, FeedSource) and (feed.poll_s, feed.fetch_pages) == (300.0, True)
    (tmp_path / "bad.yaml").write_text("sources: [\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_sources(tmp_path / "bad.yaml")
    (tmp_path / "top.yaml").write_text("- name: x\n")
    with pytest.raises(ConfigError, match="expected a top-level 'sources:' list"):
        load_sources(tmp_path / "top.yaml")


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTPS://WWW.Example.COM:443/a?utm_source=x&b=2&a=1#top", "https://www.example.com/a?a=1&b=2"),
    ("http://example.com:8080", "http://example.com:8080/"),
    ("https://example.com/p?fbclid=abc&gclid=d&id=7", "https://example.com/p?id=7"),
    ("mailto:desk@example.com", "mailto:desk@example.com"),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_canonical_is_trusted_only_on_the_same_site_and_not_the_home_page() -> None:
    page = "https://news.example.com/2025/06/story?utm_medium=rss"
    assert choose_canonical(page, "/2025/06/story-canonical") == "https://news.example.com/2025/06/story-canonical"
    assert choose_canonical(page, "https://www.example.com/story") == "https://www.example.com/story"
    assert choose_canonical(page, "https://aggregator.example.net/story") == "https://news.example.com/2025/06/story"
    assert choose_canonical(page, "https://news.example.com/") == "https://news.example.com/2025/06/story"
    assert choose_canonical(page, None, "https://news.example.com/og") == "https://news.example.com/og"
    assert choose_canonical(page, "javascript:void(0)") == "https://news.example.com/2025/06/story"


@pytest.mark.parametrize(("ip", "allowed"), [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True),
    ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("127.0.0.1", False),
    ("169.254.169.254", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("0.0.0.0", False), ("100.64.0.1", False), ("::ffff:10.0.0.1", False), ("224.0.0.1", False),
])
def test_address_policy(ip: str, allowed: bool) -> None:
    assert AddressPolicy().permits(ipaddress.ip_address(ip)) is allowed
    assert AddressPolicy(allow_private=True).permits(ipaddress.ip_address(ip))


def test_allow_networks_opens_only_those_networks() -> None:
    policy = AddressPolicy.build(False, ["127.0.0.0/8"])
    assert policy.permits(ipaddress.ip_address("127.0.0.1"))
    assert not policy.permits(ipaddress.ip_address("10.0.0.1"))
    with pytest.raises(ConfigError, match="allow_networks"):
        AddressPolicy.build(False, ["not-a-network"])


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after_s("120") == 120.0
    now = datetime(2025, 6, 10, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after_s("Tue, 10 Jun 2025 12:00:30 GMT", now=now) == 30.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


def test_robots_rules_and_crawl_delay() -> None:
    rules = parse_robots(
        "User-agent: finpulse\nCrawl-delay: 2\nDisallow: /members/\n\nUser-agent: *\nDisallow: /\n"
    )
    ua = "finpulse/0.1 (+https://github.com/finpulse/finpulse)"
    assert rules.allowed("https://ex.com/news/1", ua) and not rules.allowed("https://ex.com/members/x", ua)
    assert rules.crawl_delay(ua) == 2.0
    assert not rules.allowed("https://ex.com/news/1", "OtherBot/1.0")


@pytest.mark.parametrize(("text", "encoding", "content_type"), [
    ("Zürich café “quotes” — déjà €5", "cp1252", None),
    ("Zürich café déjà", "latin-1", "text/html; charset=ISO-8859-1"),
    ("Zürich café “quotes” — déjà", "utf-8", "text/html; charset=iso-8859-1"),
    ("Zürich café", "utf-16", None),
    ("Рынки растут на новостях о ставках", "cp1251", "text/html; charset=windows-1251"),
])
def test_decode_body(text: str, encoding: str, content_type: str | None) -> None:
    assert decode_body(text.encode(encoding), content_type)[0] == text


def test_title_from_text() -> None:
    assert title_from_text("\n  First line here\nsecond") == "First line here"
    long = "A sentence that is the headline. " + "More words follow here. " * 20
    assert title_from_text(long) == "A sentence that is the headline."
    assert len(title_from_text("word " * 100)) <= 201


def test_near_duplicate_index_survives_a_round_trip() -> None:
    a = signature("Fed holds rates steady",
                  "The Federal Reserve kept rates unchanged on Wednesday as expected by markets.")
    b = signature("Fed holds rates steady again",
                  "The Federal Reserve kept rates unchanged on Wednesday as expected by the markets.")
    c = signature("Oil jumps", "Crude rose after OPEC agreed to extend production cuts.")
    index = NearDuplicates(0.6)
    index.add("a", from_bytes(to_bytes(a)))
    assert index.find(b) == "a" and index.find(c) is None
