"""The continuous crawler behind ``finpulse ingest``: each web source polled on its own
interval (concurrently, politeness enforced per host by the fetcher), replay sources paced in
threads, push endpoints listening, and per-source status saved to the database after polls."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time

from prometheus_client import start_http_server

from finpulse.settings import Settings
from ingest.crawler import Crawler, build_crawler
from ingest.fetch import FetchPolicy, make_client
from ingest.language import detect_language
from ingest.neardup import signature
from ingest.publish import KafkaSink
from ingest.push import PushServer
from ingest.replay import publish_replay
from ingest.sources import PushSource, ReplaySource, Source
from ingest.state import CrawlState
from ingest.status import load_status, save_status
from ingest.tickers import load_watchlist

log = logging.getLogger(__name__)
TICK_S = 0.5
STATUS_EVERY_S = 5.0


def warm_up() -> None:
    """Load the language model and the MinHash permutations before the loop starts, so the
    first poll does not stall every other source for seconds."""
    detect_language("Warming up the language identifier with a sentence.")
    signature("warm up", "the minhash permutations")


class Forever:
    def __init__(self, settings: Settings, sources: list[Source], stop: threading.Event) -> None:
        self.settings, self.stop = settings, stop
        self.web = [s for s in sources if not isinstance(s, ReplaySource | PushSource)]
        self.replays = [s for s in sources if isinstance(s, ReplaySource)]
        self.pushes = [s for s in sources if isinstance(s, PushSource)]
        self.inbox: queue.Queue = queue.Queue(maxsize=10_000)

    def run(self) -> None:
        self._serve_metrics()
        threads = [self._replay_thread(s) for s in self.replays]
        servers = [PushServer(s, load_watchlist(self.settings.ingest.watchlist_file), self.inbox).start()
                   for s in self.pushes]
        try:
            asyncio.run(self._main())
        finally:
            for server in servers:
                server.stop()
            self.stop.set()
            for t in threads:
                t.join(timeout=30)

    def _serve_metrics(self) -> None:
        port = self.settings.ingest.metrics_port
        if port:
            start_http_server(port)
            log.info("ingest metrics on :%d/metrics", port)

    def _replay_thread(self, source: ReplaySource) -> threading.Thread:
        def target() -> None:
            try:
                publish_replay(self.settings, source.path, rate_per_s=source.rate_per_s,
                               loop=source.loop, stop=self.stop, speed=source.speed,
                               timestamps=source.timestamps, source=source.name)
            except Exception:  # a broken replay must not stop the crawler
                log.exception("replay source %s failed", source.name)

        thread = threading.Thread(target=target, name=f"replay-{source.name}", daemon=True)
        thread.start()
        return thread

    async def _main(self) -> None:
        warm_up()
        sink = KafkaSink(self.settings.kafka)
        state = CrawlState.in_dir(self.settings.ingest.state_dir)
        policy = FetchPolicy.from_settings(self.settings.ingest)
        try:
            async with make_client(policy) as client:
                crawler = build_crawler(self.settings, sink, state, client)
                self._restore_status(crawler)
                await self._loop(crawler)
        finally:
            state.close()
            sink.close()

    async def _loop(self, crawler: Crawler) -> None:
        due = {s.name: 0.0 for s in self.web}
        running: dict[str, asyncio.Task] = {}
        saved_at = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            for source in self.web:
                if due[source.name] <= now and source.name not in running:
                    running[source.name] = asyncio.create_task(crawler.poll(source))
                    due[source.name] = now + source.poll_s
            self._drain_push(crawler)
            await asyncio.sleep(TICK_S)
            if time.monotonic() - now > 2 * TICK_S + 1:
                log.warning("crawler loop stalled for %.1fs", time.monotonic() - now)
            for name in [n for n, t in running.items() if t.done()]:
                running.pop(name)
            if now - saved_at >= STATUS_EVERY_S:
                self._save_status(crawler)
                saved_at = now
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        self._drain_push(crawler)
        self._save_status(crawler)

    def _drain_push(self, crawler: Crawler) -> None:
        by_source: dict[str, list] = {}
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            name = item.source
            by_source.setdefault(name, []).append(item)
        for source in self.pushes:
            if source.name in by_source:
                crawler.accept_pushed(source, by_source[source.name])

    def _restore_status(self, crawler: Crawler) -> None:
        try:
            for st in load_status(self.settings.database):
                crawler.stats[st.name] = st
        except Exception as exc:  # noqa: BLE001 - status is observability, never a reason to stop
            log.warning("could not load source status from the database: %s", exc)

    def _save_status(self, crawler: Crawler) -> None:
        try:
            save_status(self.settings.database, crawler.stats.values())
        except Exception as exc:  # noqa: BLE001
            log.warning("could not save source status to the database: %s", exc)
