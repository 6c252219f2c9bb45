"""Entry points of the crawler: ``run_once`` (every source once, to a JSON-lines file or
Kafka) and ``run_forever`` (each source on its own poll interval, replays paced in threads,
push endpoints listening, status written to the database)."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from finpulse.settings import Settings
from ingest.crawler import Crawler, build_crawler
from ingest.fetch import FetchPolicy, make_client
from ingest.forever import Forever
from ingest.publish import ArticleSink, JsonlSink, KafkaSink
from ingest.sources import PushSource, Source, load_sources
from ingest.state import CrawlState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    sources_ok: int
    sources_failed: int
    articles: int
    near_duplicates: int
    duplicates: int
    failed_items: int
    dead_letters: int

    def line(self) -> str:
        return (
            f"sources: {self.sources_ok} ok, {self.sources_failed} failed; articles: {self.articles} "
            f"({self.near_duplicates} near-duplicates); duplicates skipped: {self.duplicates}; "
            f"failed items: {self.failed_items}; dead letters: {self.dead_letters}"
        )


def summarize(crawler: Crawler, sources: list[Source]) -> Summary:
    stats = [crawler.stats[s.name] for s in sources if s.name in crawler.stats]
    return Summary(
        sources_ok=sum(1 for s in stats if s.ok),
        sources_failed=sum(1 for s in stats if s.ok is False),
        articles=sum(s.new for s in stats),
        near_duplicates=crawler.near_duplicates,
        duplicates=sum(s.duplicate for s in stats) - crawler.near_duplicates,
        failed_items=sum(s.failed for s in stats),
        dead_letters=crawler.dead_letters,
    )


def pollable(sources: list[Source]) -> list[Source]:
    return [s for s in sources if s.enabled and not isinstance(s, PushSource)]


async def crawl_all(crawler: Crawler, sources: list[Source]) -> None:
    await asyncio.gather(*(crawler.poll(s) for s in sources))


def run_once(settings: Settings, *, output: Path | None = None,
             sources: list[Source] | None = None) -> Summary:
    """Every enabled source once (push endpoints have nothing to fetch), into ``output`` as JSON
    lines when given (no Kafka needed), else onto ``news.raw``."""
    sources = sources if sources is not None else load_sources(settings.ingest.sources_file)
    sink: ArticleSink = JsonlSink(output) if output else KafkaSink(settings.kafka)
    state = CrawlState.in_dir(settings.ingest.state_dir)
    try:
        crawler = asyncio.run(_once(settings, sink, state, pollable(sources)))
    finally:
        state.close()
        sink.close()
    return summarize(crawler, pollable(sources))


async def _once(settings: Settings, sink: ArticleSink, state: CrawlState, sources: list[Source]) -> Crawler:
    policy = FetchPolicy.from_settings(settings.ingest)
    async with make_client(policy) as client:
        crawler = build_crawler(settings, sink, state, client)
        await crawl_all(crawler, sources)
    return crawler


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """The continuous crawler (``finpulse ingest``) until ``stop`` is set."""
    sources = [s for s in load_sources(settings.ingest.sources_file) if s.enabled]
    Forever(settings, sources, stop).run()
