"""The crawler against a local HTTP server standing in for news sites, run once to JSON lines.

Each test asserts what reached the output and that the crawler carried on with the other
sources. (The same code path publishes to Kafka: see test_crawl_kafka.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import ingest.fetch
from finpulse.schemas import article_id_for_url
from ingest.hosts import HostGates
from ingest.run import Summary, run_once
from tests.ingest.sites import (
    LOREM,
    article_html,
    atom,
    ingest_settings,
    read_articles,
    read_dead_letters,
    rss,
    write_sources,
)

pytestmark = pytest.mark.integration

Crawl = Callable[..., tuple[list, list, Summary]]


@pytest.fixture
def crawl(make_settings, tmp_path: Path) -> Crawl:
    """Run the crawler once over ``sources``; returns (articles, dead letters, summary)."""

    def run(sources: list[dict], out_name: str = "out.jsonl", **ingest) -> tuple[list, list, Summary]:
        settings = make_settings(ingest=ingest_settings(tmp_path, **ingest))
        write_sources(settings.ingest.sources_file, sources)
        out = tmp_path / out_name
        summary = run_once(settings, output=out)
        return read_articles(out), read_dead_letters(out), summary

    return run


@pytest.fixture
def threaded_server() -> HTTPServer:
    """A second site that answers requests concurrently (a slow handler blocks no one)."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every ``asyncio.sleep`` the crawl asks for, in order (each still sleeps): what the
    crawler chose to wait, read without timing it."""
    real_sleep, asked = asyncio.sleep, []

    async def sleep(delay: float, result=None):
        asked.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


class StoppedClock:
    """The host gates' clock, standing still at 0: the wait a gate then asks for before a
    request is the time, from the host's first request, at which it lets that request through
    (and nothing really waits)."""

    def __init__(self) -> None:
        self.turns: list[float] = []

    def now(self) -> float:
        return 0.0

    async def sleep(self, delay: float) -> None:
        self.turns.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def gate_clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    clock = StoppedClock()

    def gates(concurrency: int, rate_per_s: float) -> HostGates:
        return HostGates(concurrency, rate_per_s, clock=clock.now, sleep=clock.sleep)

    monkeypatch.setattr(ingest.fetch, "HostGates", gates)
    return clock


def no_robots(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=404)


def page(
    server: HTTPServer, path: str, html: str | bytes, content_type: str = "text/html; charset=utf-8"
) -> str:
    server.expect_request(path).respond_with_data(html, content_type=content_type)
    return server.url_for(path)


def test_rss_feed_with_pages_relative_links_and_missing_date(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    page(httpserver, "/news/northwind", article_html(
        "Northwind shares jump on strong quarter", LOREM, published="2025-06-10T14:30:00+02:00",
        author="Jane Roe"))
    page(httpserver, "/news/fed", article_html(
        "Fed keeps rates on hold as $AAPL and Microsoft rally",
        ["The Federal Reserve left interest rates unchanged on Wednesday, as expected by "
         "economists, while signalling patience on future cuts amid sticky inflation."]))
    feed = rss([
        {"title": "Northwind shares jump on strong quarter", "link": "/news/northwind?utm_source=rss",
         "pubDate": "Tue, 10 Jun 2025 12:30:00 GMT", "description": "Summary one"},
        {"title": "Fed keeps rates on hold as $AAPL and Microsoft rally", "link": "news/fed",
         "description": "Summary two"},  # relative to the feed's folder, and no date
    ])
    feed_url = page(httpserver, "/feeds/rss.xml", feed, "application/rss+xml")
    before = datetime.now(UTC)
    articles, dlq, summary = crawl([{"name": "wire", "type": "feed", "url": feed_url}])

    assert dlq == []
    by_title = {a.title: a for a in articles}
    assert set(by_title) == {"Northwind shares jump on strong quarter",
                             "Fed keeps rates on hold as $AAPL and Microsoft rally"}
    nw = by_title["Northwind shares jump on strong quarter"]
    assert nw.url == httpserver.url_for("/news/northwind")  # tracking parameter stripped
    assert nw.id == article_id_for_url(nw.url)
    assert nw.published == datetime(2025, 6, 10, 12, 30, tzinfo=UTC)
    assert nw.text.startswith("Shares of Northwind Traders rose sharply") and "Copyright" not in nw.text
    assert nw.author == "Jane Roe" and nw.language == "en" and nw.source == "wire"
    fed = by_title["Fed keeps rates on hold as $AAPL and Microsoft rally"]
    assert fed.url == httpserver.url_for("/feeds/news/fed")
    assert before <= fed.published <= datetime.now(UTC)  # no date anywhere: the fetch time
    assert fed.tickers == ["AAPL", "MSFT"]
    assert summary.sources_ok == 1 and summary.articles == 2


def test_atom_feed_without_page_fetching(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    feed_url = page(httpserver, "/atom", atom([
        {"title": "Gold hits record as dollar slides", "link": httpserver.url_for("/g/1"),
         "updated": "2025-06-11T08:00:00Z",
         "summary": "Gold rose to a record high on Wednesday as the dollar weakened.",
         "author": "Metals Desk"},
    ]), "application/atom+xml")
    articles, _, summary = crawl([{"name": "atom", "type": "feed", "url": feed_url, "fetch_pages": False}])
    assert [(a.title, a.text, a.author, a.published) for a in articles] == [(
        "Gold hits record as dollar slides",
        "Gold rose to a record high on Wednesday as the dollar weakened.",
        "Metals Desk", datetime(2025, 6, 11, 8, tzinfo=UTC))]
    assert summary.sources_ok == 1


def test_feed_that_is_an_html_error_page_is_dead_lettered_and_others_go_on(
    httpserver: HTTPServer, crawl: Crawl
) -> None:
    no_robots(httpserver)
    bad = page(httpserver, "/broken.xml", "<html><head><title>503 Service Unavailable</title></head>"
               "<body><h1>Service Unavailable</h1></body></html>", "text/html")
    good = page(httpserver, "/good.xml", rss([{"title": "Copper climbs on supply worries",
                                               "link": "/c", "description": "Copper rose."}]), "text/xml")
    articles, dlq, summary = crawl([
        {"name": "broken", "type": "feed", "url": bad},
        {"name": "good", "type": "feed", "url": good, "fetch_pages": False},
    ])
    assert [a.title for a in articles] == ["Copper climbs on supply worries"]
    assert len(dlq) == 1
    assert dlq[0]["source"] == "broken" and dlq[0]["url"] == bad
    assert "not an RSS/Atom feed: an HTML page titled '503 Service Unavailable'" in dlq[0]["error"]
    assert summary.sources_ok == 1 and summary.sources_failed == 1


TITLE = "Café owners cheer “déjà vu” rally in euro — analysts"
LATIN1_TITLE = TITLE.replace("“", '"').replace("”", '"').replace("—", "-")  # fits Latin-1
TEXT = ("Owners of cafés across the eurozone said on Monday that the rally in the euro felt like "
        "déjà vu, as the currency climbed for a fifth straight session against the dollar.")


@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    [
        ("latin-1 declared in header", article_html(LATIN1_TITLE, [TEXT]).encode("latin-1"),
         "text/html; charset=ISO-8859-1"),
        ("windows-1252 undeclared", article_html(TITLE, [TEXT]).encode("cp1252"), "text/html"),
        ("windows-1252 in meta only",
         article_html(TITLE, [TEXT], charset_meta="windows-1252").encode("cp1252"), "text/html"),
        ("utf-8 mislabelled as latin-1", article_html(TITLE, [TEXT]).encode("utf-8"),
         "text/html; charset=iso-8859-1"),
        ("utf-8 with a byte-order mark", b"\xef\xbb\xbf" + article_html(TITLE, [TEXT]).encode("utf-8"),
         "text/html"),
    ],
)
def test_encodings_are_read_right(
    httpserver: HTTPServer, crawl: Crawl, case: str, body: bytes, content_type: str
) -> None:
    no_robots(httpserver)
    url = page(httpserver, "/story", body, content_type)
    articles, dlq, _ = crawl([{"name": "enc", "type": "page", "url": url}])
    assert dlq == [], case
    [article] = articles
    expected_title = TITLE if "latin-1 declared" not in case else LATIN1_TITLE
    assert article.title == expected_title, case
    assert article.text == TEXT, case


def test_conditional_get_304_costs_nothing_and_restart_publishes_nothing(
    httpserver: HTTPServer, crawl: Crawl
) -> None:
    no_robots(httpserver)
    feed = rss([{"title": "Oil slips as inventories build", "link": "/o", "description": "Oil fell."}])
    seen_headers: list[str | None] = []

    def handler(request: Request) -> Response:
        seen_headers.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(feed, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    sources = [{"name": "oil", "type": "feed", "url": httpserver.url_for("/feed"), "fetch_pages": False}]
    first, _, _ = crawl(sources, "first.jsonl")
    second, _, summary = crawl(sources, "second.jsonl")
    assert [a.title for a in first] == ["Oil slips as inventories build"]
    assert second == [] and summary.sources_ok == 1
    assert seen_headers == [None, '"v1"']


def test_429_with_retry_after_is_waited_out(httpserver: HTTPServer, crawl: Crawl,
                                            waits: list[float]) -> None:
    no_robots(httpserver)
    httpserver.expect_oneshot_request("/feed").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    feed = rss([{"title": "Bank shares rebound", "link": "/b", "description": "Banks rose."}])
    page(httpserver, "/feed", feed, "text/xml")
    articles, _, summary = crawl([
        {"name": "busy", "type": "feed", "url": httpserver.url_for("/feed"), "fetch_pages": False},
    ])
    assert [req.path for req, _ in httpserver.log].count("/feed") == 2  # the 429, then the retry
    assert 1.0 in waits  # the Retry-After, waited before retrying
    assert [a.title for a in articles] == ["Bank shares rebound"]
    assert summary.sources_ok == 1


def test_429_with_long_retry_after_fails_the_poll_without_waiting(httpserver: HTTPServer, crawl: Crawl,
                                                                  waits: list[float]) -> None:
    no_robots(httpserver)
    httpserver.expect_request("/feed").respond_with_data("", status=429, headers={"Retry-After": "3600"})
    articles, _, summary = crawl([{"name": "busy", "type": "feed", "url": httpserver.url_for("/feed")}])
    assert [req.path for req, _ in httpserver.log].count("/feed") == 1  # no retry
    assert max(waits, default=0.0) < 3.0  # nothing near the hour asked for (max_retry_wait_s: 3)
    assert articles == [] and summary.sources_failed == 1


def test_slow_response_past_the_timeout_fails_only_that_source(
    httpserver: HTTPServer, threaded_server: HTTPServer, crawl: Crawl, caplog: pytest.LogCaptureFixture
) -> None:
    no_robots(httpserver)
    no_robots(threaded_server)

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(rss([]), content_type="text/xml")

    threaded_server.expect_request("/slow").respond_with_handler(slow)
    feed = rss([{"title": "Treasury yields ease", "link": "/t", "description": "Yields fell."}])
    good = page(httpserver, "/good", feed, "text/xml")
    articles, _, summary = crawl([
        {"name": "slow", "type": "feed", "url": threaded_server.url_for("/slow")},
        {"name": "good", "type": "feed", "url": good, "fetch_pages": False},
    ], timeout_s=0.5)
    # Gave up on the slow site at its timeout, not when its answer came a second later.
    assert f"source slow: {threaded_server.url_for('/slow')}: timed out after 0.5s" in caplog.text
    assert [a.title for a in articles] == ["Treasury yields ease"]
    assert (summary.sources_ok, summary.sources_failed) == (1, 1)


def test_body_over_the_size_limit_is_refused(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    huge = page(httpserver, "/huge", article_html("Huge page", LOREM * 400))
    ok = page(httpserver, "/ok", article_html("Northwind shares jump on strong quarter", LOREM))
    articles, _, summary = crawl([
        {"name": "huge", "type": "page", "url": huge},
        {"name": "ok", "type": "page", "url": ok},
    ], max_body_bytes=20_000)
    assert [a.title for a in articles] == ["Northwind shares jump on strong quarter"]
    assert (summary.sources_ok, summary.sources_failed) == (1, 1)


def test_robots_disallowed_page_is_not_fetched(httpserver: HTTPServer, crawl: Crawl) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    page(httpserver, "/private/secret", article_html("Secret", LOREM))
    page(httpserver, "/public/story", article_html("Northwind shares jump on strong quarter", LOREM))
    feed = page(httpserver, "/feed", rss([
        {"title": "Members-only: Northwind outlook", "link": "/private/secret",
         "description": "Only the summary is public."},
        {"title": "Northwind shares jump on strong quarter", "link": "/public/story", "description": "x"},
    ]), "text/xml")
    articles, _, summary = crawl([{"name": "robots", "type": "feed", "url": feed}])
    paths = [req.path for req, _ in httpserver.log]
    assert "/private/secret" not in paths and "/public/story" in paths
    assert paths.count("/robots.txt") == 1  # cached
    texts = {a.title: a.text for a in articles}
    assert texts["Members-only: Northwind outlook"] == "Only the summary is public."  # feed's own text
    assert texts["Northwind shares jump on strong quarter"].startswith("Shares of Northwind")
    assert summary.sources_ok == 1


def test_robots_disallowing_the_feed_fails_the_source(httpserver: HTTPServer, crawl: Crawl) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: finpulse\nDisallow: /\n", content_type="text/plain"
    )
    httpserver.expect_request("/feed").respond_with_data(rss([]), content_type="text/xml")
    articles, _, summary = crawl([{"name": "no", "type": "feed", "url": httpserver.url_for("/feed")}])
    assert articles == [] and summary.sources_failed == 1
    assert "/feed" not in [req.path for req, _ in httpserver.log]


def test_redirect_to_a_private_address_is_refused_before_connecting(
    httpserver: HTTPServer, crawl: Crawl, caplog: pytest.LogCaptureFixture
) -> None:
    no_robots(httpserver)
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": "http://10.255.255.1/feed"}
    )
    feed = rss([{"title": "Dollar firms before payrolls", "link": "/d", "description": "The dollar rose."}])
    good = page(httpserver, "/good", feed, "text/xml")
    articles, _, summary = crawl([
        {"name": "moved", "type": "feed", "url": httpserver.url_for("/moved")},
        {"name": "good", "type": "feed", "url": good, "fetch_pages": False},
    ], timeout_s=5.0)
    # Refused by the address check, which comes before connecting: 10.255.255.1 does not
    # answer, so reaching for it would have ended in the 5 s timeout instead.
    assert "refusing to fetch non-public address 10.255.255.1" in caplog.text
    assert "timed out" not in caplog.text
    assert [a.title for a in articles] == ["Dollar firms before payrolls"]
    assert (summary.sources_ok, summary.sources_failed) == (1, 1)


def test_loopback_is_refused_unless_allowed(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    feed = page(httpserver, "/feed",
                rss([{"title": "Yen weakens", "link": "/y", "description": "The yen fell."}]), "text/xml")
    articles, _, summary = crawl([{"name": "local", "type": "feed", "url": feed}], allow_networks=())
    assert articles == [] and summary.sources_failed == 1
    assert httpserver.log == []


def test_near_duplicates_are_marked_and_a_restart_publishes_nothing(
    httpserver: HTTPServer, crawl: Crawl
) -> None:
    no_robots(httpserver)
    story = [
        "The Federal Reserve kept its benchmark interest rate unchanged on Wednesday and signalled "
        "that it still expects to cut rates twice before the end of the year, citing cooling "
        "inflation and a softening labour market.",
        "Chair Jerome Powell said the committee would remain data dependent.",
    ]
    edited = [story[0].replace("signalled", "signaled").replace("labour", "labor"),
              story[1].replace("remain", "stay")]
    page(httpserver, "/a/fed",
         article_html("Fed holds rates steady, signals two cuts later this year", story))
    page(httpserver, "/b/fed-decision",
         article_html("Fed holds rates steady and signals two cuts this year", edited))
    page(httpserver, "/c/oil", article_html("Oil jumps as OPEC extends cuts", [
        "Crude prices rose sharply after OPEC+ agreed to extend production cuts into next year, "
        "according to delegates familiar with the talks."]))
    sources = [{"name": "site-a", "type": "page", "url": httpserver.url_for("/a/fed")},
               {"name": "site-c", "type": "page", "url": httpserver.url_for("/c/oil")}]
    later = [{"name": "site-b", "type": "page", "url": httpserver.url_for("/b/fed-decision")}]
    first, _, _ = crawl(sources, "first.jsonl")
    second, _, _ = crawl(sources + later, "second.jsonl")
    third, _, summary = crawl(sources + later, "third.jsonl")

    original = next(a for a in first if a.source == "site-a")
    assert all(a.duplicate_of is None for a in first) and len(first) == 2
    assert [(a.source, a.duplicate_of) for a in second] == [("site-b", original.id)]
    assert third == [] and summary.duplicates == 3


def test_sitemap_pages_are_crawled(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    page(httpserver, "/s/1", article_html("Northwind shares jump on strong quarter", LOREM))
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>/s/1</loc><news:news>'
        "<news:publication_date>2025-06-12T09:15:00Z</news:publication_date>"
        "<news:title>Northwind jumps</news:title></news:news></url>"
        "<url><loc>/s/missing</loc></url></urlset>"
    )
    url = page(httpserver, "/sitemap.xml", sitemap, "application/xml")
    articles, _, summary = crawl([{"name": "sm", "type": "sitemap", "url": url}])
    assert [(a.title, a.published) for a in articles] == [
        ("Northwind jumps", datetime(2025, 6, 12, 9, 15, tzinfo=UTC)),
    ]
    assert summary.failed_items == 1  # /s/missing answers 500


def test_crawl_delay_spaces_requests_to_a_host(httpserver: HTTPServer, crawl: Crawl,
                                               gate_clock: StoppedClock) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"
    )
    page(httpserver, "/p1", article_html("Northwind shares jump on strong quarter", LOREM))
    page(httpserver, "/p2", article_html("Contoso bank lifts its dividend again", [
        "Contoso Bank raised its quarterly dividend for the third time this year, citing strong "
        "loan growth and lower funding costs in its retail division."]))
    articles, _, _ = crawl([{"name": "one", "type": "page", "url": httpserver.url_for("/p1")},
                            {"name": "two", "type": "page", "url": httpserver.url_for("/p2")}])
    assert len(articles) == 2
    assert [req.path for req, _ in httpserver.log][0] == "/robots.txt"
    # robots.txt at 0, then p1 and p2 one full Crawl-delay apart.
    first_page, second_page = gate_clock.turns[-2:]
    assert second_page - first_page == pytest.approx(1.0)


def test_redirects_are_followed_but_bounded(httpserver: HTTPServer, crawl: Crawl) -> None:
    no_robots(httpserver)
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    page(httpserver, "/new", article_html("Northwind shares jump on strong quarter", LOREM))
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    articles, _, summary = crawl([{"name": "moved", "type": "page", "url": httpserver.url_for("/old")},
                                  {"name": "loop", "type": "page", "url": httpserver.url_for("/loop")}],
                                 max_redirects=3)
    assert [a.url for a in articles] == [httpserver.url_for("/new")]
    assert (summary.sources_ok, summary.sources_failed) == (1, 1)
    assert sum(req.path == "/loop" for req, _ in httpserver.log) == 4  # first try + 3 redirects
