"""The crawler: polls one source at a time into articles, deduplicates them and publishes.

A poll never raises: a failing site is counted, logged and (when its bytes cannot be parsed)
dead-lettered, and the next source goes on. Articles are marked as seen, and conditional-GET
validators saved, only after the sink has made them durable, so a crash republishes at most
what was not yet acknowledged and never loses anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from finpulse.schemas import Article, DeadLetter, utcnow
from finpulse.settings import Settings
from ingest.canonical import normalize_url
from ingest.extract import Page, extract_page
from ingest.feeds import FeedItem, parse_feed
from ingest.fetch import Fetched, Fetcher, FetchPolicy
from ingest.fetch_errors import FetchFailed, FetchRefused
from ingest.headline import SiteNames
from ingest.items import NoContent, compose
from ingest.neardup import NearDuplicates, from_bytes, signature, to_bytes
from ingest.netguard import BlockedAddress
from ingest.parse_errors import NotAnArticle, ParseError
from ingest.publish import ArticleSink, PublishError
from ingest.push import Rejected
from ingest.replay import STAGE as REPLAY_STAGE
from ingest.replay import RowError, row_to_article
from ingest.replay_rows import BadRow, read_rows
from ingest.sitemaps import parse_sitemap
from ingest.sources import FeedSource, PageSource, ReplaySource, SitemapSource, Source
from ingest.state import CrawlState
from ingest.stats import SourceStats
from ingest.tickers import Watchlist, load_watchlist

log = logging.getLogger(__name__)

MAX_DLQ_BYTES = 256_000
MAX_CHILD_SITEMAPS = 5
FETCH_ERRORS = (FetchFailed, FetchRefused, BlockedAddress)
SIGNATURE_MAX_AGE_S = 3 * 24 * 3600


@dataclass
class Batch:
    """What one poll is about to publish, committed together."""

    published: list[tuple[Article, list[str]]] = field(default_factory=list)
    signatures: list[tuple[str, bytes]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    validators: list[tuple[str, Fetched]] = field(default_factory=list)
    sink_failures: int = 0  # the sink's failure count when the batch began


@dataclass
class Crawler:
    fetcher: Fetcher
    state: CrawlState
    sink: ArticleSink
    watchlist: Watchlist
    near: NearDuplicates
    stats: dict[str, SourceStats] = field(default_factory=dict)
    near_duplicates: int = 0
    dead_letters: int = 0
    site_names: SiteNames = field(default_factory=SiteNames)  # learned across each site's pages

    def stats_for(self, source: Source) -> SourceStats:
        if source.name not in self.stats:
            self.stats[source.name] = SourceStats(source.name, source.type)
        return self.stats[source.name]

    async def poll(self, source: Source) -> SourceStats:
        """Fetch ``source`` once and publish what is new; never raises for the site's faults."""
        st = self.stats_for(source)
        statuses, batch = st.start(), Batch(sink_failures=self.sink.failures)
        error = await self._attempt(source, st, statuses, batch)
        try:
            self.commit(batch)  # whatever was offered before a failure is kept
        except Exception as exc:  # noqa: BLE001 - e.g. Kafka down: retried at the next poll
            error = error or f"publishing failed: {exc}"
        if error:
            st.count("failed")
            log.warning("source %s: %s", source.name, error)
        st.finish(statuses, error)
        return st

    async def _attempt(self, source: Source, st: SourceStats, statuses: Counter, batch: Batch) -> str | None:
        try:
            await self._crawl(source, st, statuses, batch)
        except (*FETCH_ERRORS, ParseError) as exc:
            return str(exc)
        except Exception as exc:  # one bad site must never stop the crawler
            log.exception("source %s: unexpected failure", source.name)
            return f"unexpected {type(exc).__name__}: {exc}"
        return None

    async def _crawl(self, source: Source, st: SourceStats, statuses: Counter, batch: Batch) -> None:
        if isinstance(source, FeedSource):
            await self._feed(source, st, statuses, batch)
        elif isinstance(source, SitemapSource):
            await self._sitemap(source, st, statuses, batch)
        elif isinstance(source, PageSource):
            await self._page_source(source, st, statuses, batch)
        elif isinstance(source, ReplaySource):
            self._replay(source, st, batch)
        else:
            raise ValueError(f"source type {source.type} is not crawled by polling")

    async def _document(self, url: str, kind, statuses: Counter, batch: Batch) -> Fetched:
        fetched = await self.fetcher.get(url, kind, validators=self.state.validators(url),
                                         statuses=statuses)
        batch.validators.append((url, fetched))
        return fetched

    def _parse(self, source: Source, fetched: Fetched, parser):
        try:
            return parser(fetched.body, url=fetched.url, content_type=fetched.content_type)
        except ParseError as exc:
            self.dead_letter(source.name, fetched.url, fetched.body, f"{fetched.url}: {exc}", "ingest.parse")
            raise ParseError(f"{fetched.url}: {exc}") from exc

    async def _feed(self, source: FeedSource, st: SourceStats, statuses: Counter, batch: Batch) -> None:
        fetched = await self._document(source.url, "feed", statuses, batch)
        if fetched.not_modified:
            return
        feed = self._parse(source, fetched, partial(parse_feed, timezone=source.timezone))
        st.count("found", len(feed.items) + feed.skipped)
        if feed.skipped:
            st.count("failed", feed.skipped)
        fresh = self._unseen(st, [(normalize_url(i.link), i) for i in feed.items[: source.max_items]], batch)
        results = await asyncio.gather(*(
            self._item(source, link, item, statuses) for link, item in fresh
        ))
        for (link, _item), article in zip(fresh, results, strict=True):
            if isinstance(article, NotAnArticle):
                st.skip_not_article(link, f"{article.kind}: {article.reason}")
            elif article is not None:
                self.offer(st, batch, article, [link])
            else:
                st.count("failed")

    def _unseen(self, st: SourceStats, links: list, batch: Batch) -> list:
        fresh = []
        for link, payload in links:
            if self.state.seen_url(link) or link in batch.urls:
                st.count("duplicate")
                continue
            batch.urls.add(link)
            fresh.append((link, payload))
        return fresh

    async def _item(self, source: FeedSource, link: str, item: FeedItem, statuses: Counter
                    ) -> Article | NotAnArticle | None:
        page = await self._page(source, link, statuses) if source.fetch_pages else None
        if isinstance(page, NotAnArticle):
            return page
        try:
            return compose(source=source.name, link=link, item=item, page=page,
                           now=utcnow(), watchlist=self.watchlist)
        except (NoContent, ValueError) as exc:
            self.dead_letter(source.name, link, b"", f"{link}: {exc}", "ingest.item")
            return None

    async def _page(self, source: Source, url: str, statuses: Counter) -> Page | NotAnArticle | None:
        """The article page at ``url``; the refusal when it is not an article; None (logged)
        when it cannot be had."""
        try:
            fetched = await self.fetcher.get(url, "page", statuses=statuses)
        except FETCH_ERRORS as exc:
            log.warning("source %s: page %s: %s", source.name, url, exc)
            return None
        try:
            return extract_page(fetched.body, url=fetched.url, content_type=fetched.content_type,
                                site_names=self.site_names)
        except NotAnArticle as exc:
            log.info("source %s: page %s: %s", source.name, url, exc)
            return exc
        except ParseError as exc:
            log.warning("source %s: page %s: %s", source.name, url, exc)
            return None

    async def _page_source(
        self, source: PageSource, st: SourceStats, statuses: Counter, batch: Batch
    ) -> None:
        fetched = await self._document(source.url, "page", statuses, batch)
        if fetched.not_modified:
            return
        st.count("found")
        try:
            page = extract_page(fetched.body, url=fetched.url, content_type=fetched.content_type,
                                site_names=self.site_names)
        except NotAnArticle as exc:
            st.skip_not_article(fetched.url, f"{exc.kind}: {exc.reason}")
            return
        except ParseError as exc:
            self.dead_letter(source.name, fetched.url, fetched.body, f"{fetched.url}: {exc}", "ingest.parse")
            raise ParseError(f"{fetched.url}: {exc}") from exc
        article = compose(source=source.name, link=source.url, page=page, now=utcnow(),
                          watchlist=self.watchlist)
        self.offer(st, batch, article, [normalize_url(source.url)])

    async def _sitemap(self, source: SitemapSource, st: SourceStats, statuses: Counter, batch: Batch) -> None:
        fetched = await self._document(source.url, "sitemap", statuses, batch)
        if fetched.not_modified:
            return
        sitemap = self._parse(source, fetched, parse_sitemap)
        entries = list(sitemap.entries)
        for child in sitemap.children[:MAX_CHILD_SITEMAPS]:
            sub = await self.fetcher.get(child, "sitemap", statuses=statuses)
            entries.extend(self._parse(source, sub, parse_sitemap).entries)
        st.count("found", len(entries))
        fresh = self._unseen(st, [(normalize_url(e.url), e) for e in entries[: source.max_items]], batch)
        pages = await asyncio.gather(*(self._page(source, link, statuses) for link, _ in fresh))
        for (link, entry), page in zip(fresh, pages, strict=True):
            if isinstance(page, NotAnArticle):
                st.skip_not_article(link, f"{page.kind}: {page.reason}")
                continue
            if page is None:
                st.count("failed")
                continue
            article = compose(source=source.name, link=link, page=page, title=entry.title,
                              published=entry.published, now=utcnow(), watchlist=self.watchlist)
            self.offer(st, batch, article, [link])

    def _replay(self, source: ReplaySource, st: SourceStats, batch: Batch) -> None:
        """A replay file in one go (``--once``); the continuous crawler paces it instead."""
        for row in read_rows(source.path):
            st.count("found")
            where = f"{source.path}:{row.line}"
            if isinstance(row, BadRow):
                st.count("failed")
                self.dead_letter(source.name, where, row.raw, f"{where}: {row.reason}", REPLAY_STAGE)
                continue
            try:
                article = row_to_article(row, source=source.name, now=utcnow(),
                                         file_key=source.path.stem, watchlist=self.watchlist)
            except RowError as exc:
                st.count("failed")
                self.dead_letter(source.name, where, b"", f"{where}: {exc}", REPLAY_STAGE)
                continue
            self.offer(st, batch, article, [])

    def accept_pushed(self, source: Source, items: list) -> None:
        """Articles (and rejected bodies) that a push endpoint received, published as a batch."""
        st = self.stats_for(source)
        statuses, batch = st.start(), Batch(sink_failures=self.sink.failures)
        for item in items:
            st.count("found")
            if isinstance(item, Rejected):
                st.count("failed")
                self.dead_letter(item.source, source.url, item.body, item.reason, "ingest.push")
            else:
                self.offer(st, batch, item, [])
        error = None
        try:
            self.commit(batch)
        except Exception as exc:  # noqa: BLE001 - Kafka down: the pusher was answered already
            error = f"publishing failed: {exc}"
            log.error("push source %s: %s", source.name, error)
        st.finish(statuses, error)

    def offer(self, st: SourceStats, batch: Batch, article: Article, urls: list[str]) -> None:
        """Publish ``article`` unless it was seen; mark near-duplicates with ``duplicate_of``."""
        if article.id in batch.ids or self.state.seen_id(article.id):
            st.count("duplicate")
            return
        mh = signature(article.title, article.text)
        original = self.near.find(mh)
        if original is not None:
            article = article.model_copy(update={"duplicate_of": original})
            st.count("duplicate")
            self.near_duplicates += 1
        else:
            self.near.add(article.id, mh)
            batch.signatures.append((article.id, to_bytes(mh)))
        self.sink.article(article)
        st.count("new")
        batch.ids.add(article.id)
        batch.published.append((article, [*urls, article.url or ""]))

    def commit(self, batch: Batch) -> None:
        """Make the batch durable, then remember it (seen ids, signatures, validators)."""
        self.sink.flush()
        if self.sink.failures != batch.sink_failures:
            raise PublishError("an earlier flush failed while this batch was open; it is retried")
        self.state.mark_seen((a.id, a.source, [u for u in urls if u]) for a, urls in batch.published)
        self.state.save_signatures(batch.signatures)
        for url, fetched in batch.validators:
            if not fetched.not_modified:
                self.state.save_validators(url, fetched.validators)

    def dead_letter(self, source: str, url: str, body: bytes, reason: str, stage: str) -> None:
        self.dead_letters += 1
        self.sink.dead_letter(DeadLetter.wrap(body[:MAX_DLQ_BYTES], stage=stage, error=reason,
                                              source=source, url=url))


def load_near(state: CrawlState, threshold: float) -> NearDuplicates:
    near = NearDuplicates(threshold)
    for article_id, sig in state.recent_signatures(SIGNATURE_MAX_AGE_S):
        near.add(article_id, from_bytes(sig))
    return near


def build_crawler(settings: Settings, sink: ArticleSink, state: CrawlState, client) -> Crawler:
    """A crawler fetching through ``client`` with the settings' politeness, watchlist and
    near-duplicate index (the recent signatures in ``state``)."""
    policy = FetchPolicy.from_settings(settings.ingest)
    return Crawler(
        fetcher=Fetcher(client, policy),
        state=state,
        sink=sink,
        watchlist=load_watchlist(settings.ingest.watchlist_file),
        near=load_near(state, settings.ingest.near_duplicate_threshold),
    )
