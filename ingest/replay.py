"""Replaying a CSV or JSON-lines file onto ``news.raw`` as if it were being published now.

Used by the demo (the seed data's texts) and by tests. Each good row becomes an ``Article``:
id from the row's ``id`` or line number (or its URL), title from the first line or sentence of
the text, published "now" minus a small deterministic jitter (or, with ``timestamps="shift"``,
the file's own timestamps moved so the first row lands now, paced by their gaps / ``speed``).
Bad rows go to ``news.dlq`` naming the file, line and reason; the replay goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from finpulse.errors import ContractError
from finpulse.schemas import Article, DeadLetter, article_id_for_source, utcnow
from finpulse.settings import Settings
from ingest.canonical import article_id, normalize_url
from ingest.dates import parse_date
from ingest.enrich import build_article
from ingest.pacing import Pacer
from ingest.publish import ArticleSink, KafkaSink
from ingest.replay_rows import BadRow, Row, read_rows
from ingest.tickers import EMPTY_WATCHLIST, Watchlist, load_watchlist

log = logging.getLogger(__name__)

STAGE = "ingest.replay"
JITTER_S = 90
FLUSH_EVERY = 500
Timestamps = Literal["live", "shift"]


class RowError(ValueError):
    """A replay row that parsed but cannot become an article."""


def source_name(path: Path) -> str:
    return f"replay:{path.stem}"


def _jitter(article_id_: str, jitter_s: int) -> timedelta:
    return timedelta(milliseconds=int(article_id_[:8], 16) % (jitter_s * 1000)) if jitter_s else timedelta()


def row_id(row: Row, source: str, loop_pass: int, file_key: str = "") -> str:
    """The article id of a row: from its URL on the first pass, else from its id or its file
    and line."""
    url = row.data.get("url")
    if url and loop_pass == 0:
        return article_id(url)
    base = row.data.get("id") or f"{file_key}:line{row.line}"
    return article_id_for_source(source, base if loop_pass == 0 else f"{base}#{loop_pass}")


def row_to_article(
    row: Row,
    *,
    source: str,
    now: datetime,
    published: datetime | None = None,
    loop_pass: int = 0,
    file_key: str = "",
    jitter_s: int = JITTER_S,
    watchlist: Watchlist = EMPTY_WATCHLIST,
) -> Article:
    """One row as an article; ``RowError`` says why a row cannot be one."""
    aid = row_id(row, row.data.get("source") or source, loop_pass, file_key)
    url = row.data.get("url")
    try:
        return build_article(
            article_id=aid,
            source=row.data.get("source") or source,
            text=row.data["text"],
            title=row.data.get("title"),
            url=normalize_url(url) if url else None,
            author=row.data.get("author"),
            published=published or (now - _jitter(aid, jitter_s)),
            fetched=now,
            watchlist=watchlist,
        )
    except (ValueError, ContractError) as exc:
        raise RowError(f"not a valid article: {exc}") from exc


@dataclass
class ReplayStats:
    published: int = 0
    failed: int = 0
    passes: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Replay:
    """One replay of ``path`` into ``sink``; ``run`` returns the number of articles sent."""

    path: Path
    sink: ArticleSink
    source: str
    rate_per_s: float | None = None
    limit: int | None = None
    loop: bool = False
    speed: float = 1.0
    timestamps: Timestamps = "live"
    watchlist: Watchlist = EMPTY_WATCHLIST
    first_pass: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic  # what the pacing reads; tests pass their own
    stats: ReplayStats = field(default_factory=ReplayStats)

    def run(self) -> int:
        pacer = Pacer(self.rate_per_s, self.stop, clock=self.clock)
        while not self._done():
            sent_before = self.stats.published + self.stats.failed
            self._one_pass(pacer)
            self.stats.passes += 1
            self.sink.flush()
            if not self.loop or self.stats.published + self.stats.failed == sent_before:
                break
        self.sink.flush()
        return self.stats.published

    def _done(self) -> bool:
        return self.stop.is_set() or (self.limit is not None and self.stats.published >= self.limit)

    def _one_pass(self, pacer: Pacer) -> None:
        start_wall, start_mono = utcnow(), self.clock()
        first_ts: datetime | None = None
        for item in read_rows(self.path):
            if self._done():
                return
            if isinstance(item, BadRow):
                self._dead_letter(item.raw, item.line, item.reason)
                continue
            published = None
            if self.timestamps == "shift":
                ts = parse_date(item.data.get("published"))
                if ts is None:
                    self._dead_letter(_raw(item), item.line, "no readable 'published' timestamp")
                    continue
                first_ts = first_ts or ts
                offset = max(timedelta(), (ts - first_ts) / self.speed)
                if self.rate_per_s is None and not pacer.sleep_until(start_mono + offset.total_seconds()):
                    return
                published = min(start_wall + offset, utcnow())
            if self.rate_per_s is not None and not pacer.wait():
                return
            self._send(item, published)

    def _send(self, row: Row, published: datetime | None) -> None:
        try:
            article = row_to_article(
                row, source=self.source, now=utcnow(), published=published,
                loop_pass=self.first_pass + self.stats.passes, file_key=self.path.stem,
                watchlist=self.watchlist,
            )
        except RowError as exc:
            self._dead_letter(_raw(row), row.line, str(exc))
            return
        self.sink.article(article)
        self.stats.published += 1
        if self.stats.published % FLUSH_EVERY == 0:
            self.sink.flush()

    def _dead_letter(self, raw: bytes, line: int, reason: str) -> None:
        where = f"{self.path}:{line}"
        self.stats.failed += 1
        self.stats.errors.append(f"{where}: {reason}")
        self.sink.dead_letter(
            DeadLetter.wrap(raw, stage=STAGE, error=f"{where}: {reason}", source=self.source, url=where)
        )


def _raw(row: Row) -> bytes:
    return json.dumps(row.data, ensure_ascii=False).encode("utf-8")


def publish_replay(
    settings: Settings,
    path: str | Path,
    *,
    rate_per_s: float | None = None,
    limit: int | None = None,
    loop: bool = False,
    stop: threading.Event | None = None,
    speed: float = 1.0,
    timestamps: Timestamps = "live",
    source: str | None = None,
    sink: ArticleSink | None = None,
) -> int:
    """Replay ``path`` onto ``news.raw`` (or into ``sink``) and return how many articles were
    published, once all of them are acknowledged. ``rate_per_s=None``: as fast as possible."""
    path = Path(path)
    own_sink = sink is None
    sink = sink or KafkaSink(settings.kafka, client_id="ingest-replay")
    replay = Replay(
        path=path, sink=sink, source=source or source_name(path), rate_per_s=rate_per_s,
        limit=limit, loop=loop, speed=speed, timestamps=timestamps,
        watchlist=load_watchlist(settings.ingest.watchlist_file),
        stop=stop or threading.Event(),
    )
    try:
        count = replay.run()
    finally:
        if own_sink:
            sink.close()
    log.info("replayed %s: %d articles, %d dead-lettered", path, count, replay.stats.failed)
    return count
