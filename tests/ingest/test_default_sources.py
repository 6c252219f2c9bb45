"""The shipped source list (config/sources.yaml) and the feed formats it depends on, offline.

The list is checked with the project's own loader; each source is mapped to the document format
its publisher serves, and one small sample of each format (tests/ingest/fixtures/feeds, faithful
reductions of the publishers' documented formats, not captured copies) is read with the
project's own feed parser. Reaching the real feeds is `finpulse sources check`'s job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from finpulse.settings import REPO_ROOT
from ingest.feeds import parse_feed
from ingest.sources import FeedSource, PushSource, SitemapSource, load_sources

pytestmark = pytest.mark.unit

SOURCES_FILE = REPO_ROOT / "config" / "sources.yaml"
FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

# Each format the default list uses, and the sample of it.
FIXTURE_OF_KIND = {
    "rss2": "rss2.xml",  # plain RSS 2.0
    "rss2_dc_media": "rss2_dc_media.xml",  # RSS 2.0 with dc: and media:, as the press wires use
    "atom": "atom.xml",  # Atom 1.0
    "rss1_rdf": "rss1_rdf.xml",  # RSS 1.0 / RDF with the RSS-CB extension
}

# The format each default web source serves (from the publisher's documentation).
KIND_OF_SOURCE = {
    "fed-press": "rss2",
    "fed-speeches": "rss2",
    "ecb-press": "rss2",
    "ecb-supervision-press": "rss2",
    "boe-news": "rss2",
    "boe-speeches": "rss2",
    "boj-whatsnew": "rss2",
    "boc-press": "rss2_dc_media",  # WordPress: dc:creator
    "rba-media-releases": "rss1_rdf",
    "rba-speeches": "rss1_rdf",
    "snb-press": "rss2",
    "bis-press": "rss1_rdf",
    "bis-central-bank-speeches": "rss1_rdf",
    "imf-news": "rss2",
    "nyfed-liberty-street": "rss2_dc_media",  # WordPress: dc:creator
    "sec-press": "rss2",
    "sec-8k-filings": "atom",
    "cftc-press": "rss2",
    "cftc-enforcement": "rss2",
    "fca-news": "rss2",
    "esma-news": "rss2",
    "hm-treasury": "atom",
    "bea-news": "rss2",
    "nasdaqtrader-equity-alerts": "rss2",
    "globenewswire-public-companies": "rss2_dc_media",
    "prnewswire-all": "rss2_dc_media",
    "prnewswire-financial-services": "rss2_dc_media",
    "businesswire-all": "rss2",  # no issuer tag, unlike the other wires
    "cnbc-finance": "rss2",
}

EST = timezone(timedelta(hours=-5))
UK_SUMMER = timezone(timedelta(hours=1))
SYDNEY_SUMMER = timezone(timedelta(hours=11))
SYDNEY_WINTER = timezone(timedelta(hours=10))

# Per sample: the URL it is read as, its title, and (title, link, publication time) per item,
# each time written with the offset the sample gives it.
EXPECTED = {
    "rss2.xml": (
        "https://www.federalreserve.gov/feeds/press_all.xml",
        "FRB: Press Release - All Releases",
        [
            ("Federal Reserve Board announces results of its sample funding-market survey",
             "https://www.federalreserve.gov/newsevents/pressreleases/other20261204a.htm",
             datetime(2026, 12, 4, 21, 0, tzinfo=UTC)),
            ("Agencies invite comment on a sample proposal for community bank reporting",
             "https://www.federalreserve.gov/newsevents/pressreleases/bcreg20261203a.htm",
             datetime(2026, 12, 3, 15, 30, tzinfo=UTC)),
            ("Minutes of the Board's discount rate meetings on October 26 and November 4, 2026",
             "https://www.federalreserve.gov/newsevents/pressreleases/monetary20261201a.htm",
             datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
            ("Federal Reserve Board issues enforcement action with a sample state member bank",
             "https://www.federalreserve.gov/newsevents/pressreleases/enforcement20261124a.htm",
             datetime(2026, 11, 24, 16, 0, tzinfo=UTC)),
        ],
    ),
    "rss2_dc_media.xml": (
        "https://www.prnewswire.com/rss/news-releases-list.rss",
        "PR Newswire: All News Releases",
        [
            ("Northwind Lending Reports Third Quarter 2026 Results & Raises Dividend",
             "https://www.prnewswire.com/news-releases/"
             "northwind-lending-reports-third-quarter-2026-results--raises-dividend-302617001.html",
             datetime(2026, 12, 7, 8, 30, tzinfo=EST)),
            ("Harbor Point Energy to Acquire Bluewater Midstream for $1.9 Billion",
             "https://www.prnewswire.com/news-releases/"
             "harbor-point-energy-to-acquire-bluewater-midstream-for-1-9-billion-302616842.html",
             datetime(2026, 12, 7, 7, 0, tzinfo=EST)),
            ("Cedar Ridge Bancorp Announces Chief Financial Officer Transition",
             "https://www.prnewswire.com/news-releases/"
             "cedar-ridge-bancorp-announces-chief-financial-officer-transition-302616530.html",
             datetime(2026, 12, 4, 16, 15, tzinfo=EST)),
            ("Altamira Biologics Prices $250 Million Public Offering of Common Stock",
             "https://www.prnewswire.com/news-releases/"
             "altamira-biologics-prices-250-million-public-offering-of-common-stock-302615977.html",
             datetime(2026, 12, 3, 22, 5, tzinfo=EST)),
        ],
    ),
    "atom.xml": (
        "https://www.gov.uk/government/organisations/hm-treasury.atom",
        "HM Treasury - Activity on GOV.UK",
        [
            ("Sample gilt issuance remit revised for 2026-27",
             "https://www.gov.uk/government/news/sample-gilt-issuance-remit-revised",
             datetime(2026, 12, 4, 16, 30, 3, tzinfo=UTC)),
            ("Sample public sector finances: November 2026",
             "https://www.gov.uk/government/publications/sample-public-sector-finances-november-2026",
             datetime(2026, 12, 2, 9, 30, tzinfo=UTC)),
            ("Consultation: sample payments regulation review",
             "https://www.gov.uk/government/consultations/sample-payments-regulation-review",
             datetime(2026, 11, 27, 11, 0, tzinfo=UTC)),
            ("Sample Mansion House speech 2026",
             "https://www.gov.uk/government/speeches/sample-mansion-house-speech-2026",
             datetime(2026, 7, 15, 20, 45, tzinfo=UK_SUMMER)),
        ],
    ),
    "rss1_rdf.xml": (
        "https://www.rba.gov.au/rss/rss-cb-media-releases.xml",
        "Reserve Bank of Australia – Media Releases",
        [
            ("Statement by the Monetary Policy Board: Monetary Policy Decision",
             "https://www.rba.gov.au/media-releases/2026/mr-26-31.html",
             datetime(2026, 12, 1, 14, 30, tzinfo=SYDNEY_SUMMER)),
            ("Sample Survey of Payment Card Fees, 2026",
             "https://www.rba.gov.au/media-releases/2026/mr-26-30.html",
             datetime(2026, 11, 26, 11, 30, tzinfo=SYDNEY_SUMMER)),
            ("Appointment of a Sample Assistant Governor",
             "https://www.rba.gov.au/media-releases/2026/mr-26-29.html",
             datetime(2026, 11, 19, 9, 0, tzinfo=SYDNEY_SUMMER)),
            ("Sample Financial Stability Review – July 2026",
             "https://www.rba.gov.au/media-releases/2026/mr-26-17.html",
             datetime(2026, 7, 10, 11, 30, tzinfo=SYDNEY_WINTER)),
        ],
    ),
}


def _web_sources() -> list[FeedSource | SitemapSource]:
    return [s for s in load_sources(SOURCES_FILE) if isinstance(s, FeedSource | SitemapSource)]


def test_the_default_list_loads_and_is_a_real_list() -> None:
    sources = load_sources(SOURCES_FILE)
    names = [s.name for s in sources]
    assert len(names) == len(set(names))
    web = _web_sources()
    enabled = [s for s in web if s.enabled]
    assert len(enabled) >= 25, [s.name for s in enabled]
    for source in web:
        assert urlsplit(source.url).scheme == "https", source.name
        assert source.poll_s >= 600, f"{source.name} polls every {source.poll_s} s"
    # The push listener stays in the file, off by default.
    assert any(isinstance(s, PushSource) and s.name == "partners" and not s.enabled for s in sources)


def test_every_default_source_has_a_known_format() -> None:
    web = _web_sources()
    assert {s.name for s in web} == set(KIND_OF_SOURCE)
    for source in web:
        kind = KIND_OF_SOURCE[source.name]
        assert kind in FIXTURE_OF_KIND, (source.name, kind)
        # A sitemap source needs a sitemap sample, a feed a feed sample.
        assert isinstance(source, FeedSource) == (kind != "news_sitemap"), source.name
    # Every sample stands for at least one source, and every format used has a sample.
    assert set(KIND_OF_SOURCE.values()) == set(FIXTURE_OF_KIND)
    assert set(FIXTURE_OF_KIND.values()) == set(EXPECTED)
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_format_parses_as_written(fixture: str) -> None:
    body = (FIXTURES / fixture).read_bytes()
    assert b"faithful reduction, not a captured copy" in body
    url, title, items = EXPECTED[fixture]
    feed = parse_feed(body, url=url)
    assert feed.title == title
    assert feed.skipped == 0
    assert [(i.title, i.link, i.published) for i in feed.items] == items
    for item in feed.items:
        assert item.published is not None and item.published.tzinfo is not None
        assert item.published.utcoffset() == timedelta(0), item.published


def test_human_feed_dates_are_read_in_the_sources_zone() -> None:
    """The FCA dates items for people, in London time without an offset."""
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>FCA news</title>'
        b"<item><title>Sample statement</title>"
        b"<link>https://www.fca.org.uk/news/statements/sample-statement</link>"
        b"<pubDate>Monday, July 27, 2026 - 15:30</pubDate></item></channel></rss>"
    )
    [item] = parse_feed(body, url="https://www.fca.org.uk/news/rss.xml", timezone="Europe/London").items
    assert item.published == datetime(2026, 7, 27, 15, 30, tzinfo=UK_SUMMER)
    [item] = parse_feed(body, url="https://www.fca.org.uk/news/rss.xml").items
    assert item.published == datetime(2026, 7, 27, 15, 30, tzinfo=UTC)  # no zone given: UTC


def test_an_unknown_time_zone_is_refused_naming_it(tmp_path: Path) -> None:
    from finpulse.errors import ConfigError

    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {name: x, type: feed, url: 'https://x.example/rss',\n"
                    "     timezone: Mars/Olympus}\n")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_sources(path)
