"""``finpulse sources check``: validate the sources file, then reach each source once (the
source document only: feed items' pages are not fetched, sitemaps are sampled) and print what
was found. Uses a throw-away state, so it never marks anything as seen."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from finpulse.settings import Settings
from ingest.crawler import build_crawler
from ingest.fetch import FetchPolicy, make_client
from ingest.publish import MemorySink
from ingest.sources import FeedSource, PushSource, SitemapSource, Source, load_sources
from ingest.state import CrawlState

SAMPLE_PAGES = 3


def for_check(source: Source) -> Source:
    if isinstance(source, FeedSource):
        return source.model_copy(update={"fetch_pages": False})
    if isinstance(source, SitemapSource):
        return source.model_copy(update={"max_items": SAMPLE_PAGES})
    return source


async def _reach(
    settings: Settings, sources: list[Source], state: CrawlState
) -> list[tuple[Source, object, MemorySink]]:
    policy = FetchPolicy.from_settings(settings.ingest)
    results = []
    async with make_client(policy) as client:
        for source in sources:
            sink = MemorySink()
            crawler = build_crawler(settings, sink, state, client)
            if isinstance(source, PushSource):
                results.append((source, None, sink))
                continue
            results.append((source, await crawler.poll(for_check(source)), sink))
    return results


def _row(source: Source, st, sink: MemorySink) -> tuple[str, ...]:
    if st is None:
        return (source.name, source.type, "ok", "-", "-", "-", f"listens on {source.url}")
    http = " ".join(f"{k}:{v}" for k, v in sorted(st.http_status.items())) or "-"
    outcome = "ok" if st.ok else "FAILED"
    detail = st.last_error if not st.ok else (sink.articles[0].title[:70] if sink.articles else "")
    if sink.dead_letters and st.ok:
        detail = f"{len(sink.dead_letters)} bad item(s): {sink.dead_letters[0].error[:60]}"
    return (source.name, source.type, outcome, http, str(st.found), str(len(sink.articles)), detail or "")


def check_sources(settings: Settings) -> int:
    """Print a table; 0 when every enabled source answered, 1 otherwise."""
    path = settings.ingest.sources_file
    sources = [s for s in load_sources(path) if s.enabled]
    print(f"{path}: {len(sources)} enabled source(s), valid")
    with tempfile.TemporaryDirectory(prefix="finpulse-check-") as tmp:
        state = CrawlState.in_dir(Path(tmp))
        try:
            results = asyncio.run(_reach(settings, sources, state))
        finally:
            state.close()
    rows = [("source", "type", "result", "http", "found", "articles", "detail")]
    rows += [_row(*r) for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:6], widths, strict=True)) + "  " + r[6])
    return 0 if all(r[2] == "ok" for r in rows[1:]) else 1
