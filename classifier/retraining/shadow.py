"""``finpulse shadow``: the challenger in shadow scores the live stream beside the champion.

A consumer in group ``<prefix>-shadow`` on ``news.classified`` (each message carries the article
and the champion's prediction) fills micro-batches as the classifier worker does, scores them
with the shadow version through the classifier engine, and upserts one ``shadow_predictions``
row per article, keyed by (challenger version, article id): a replay writes nothing twice.
Offsets are committed only after the database transaction has committed and the dead letters
were acknowledged; undecodable messages go to ``news.dlq``.

The registry's shadow version is polled in the background (``ShadowWatcher``) and switched
between two batches. With no version in shadow the scorer idles cheaply: it consumes and
commits without decoding, scoring or even importing torch, so a shadow started later scores
the stream from then on, not a backlog. Messages the challenger itself classified (it has just
been promoted) are skipped: a model compared with itself says nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy.exc import DBAPIError, OperationalError

from classifier import registry
from classifier.serving.batching import Batch, BatchCollector, Limits
from classifier.serving.swap import ShadowWatcher
from finpulse import kafka as fk
from finpulse.schemas import ClassifiedArticle, decode, utcnow
from finpulse.settings import Settings
from store.db import retry_while_unavailable, session_factory
from store.queries.shadow import shadow_row, write_shadow

log = logging.getLogger(__name__)
STAGE = "shadow"
IDLE_POLL_S = 1.0


def read_classified(value: bytes | None) -> tuple[ClassifiedArticle, str, str]:
    msg = decode(ClassifiedArticle, value)
    return msg, msg.article.id, msg.article.content


@dataclass
class Stats:
    """Counters for the periodic log line (and for tests)."""

    scored: int = 0
    skipped: int = 0  # consumed with no shadow version, or classified by the challenger itself
    dead_lettered: int = 0
    batches: int = 0
    switches: int = 0
    since: float = field(default_factory=time.monotonic)

    def line(self, version: str | None) -> str:
        elapsed = max(1e-9, time.monotonic() - self.since)
        return (f"shadow {version or '(none: idle)'}: {self.scored} scored "
                f"({self.scored / elapsed:.1f}/s), {self.skipped} skipped, dlq {self.dead_lettered}")


class ShadowScorer:
    """One scorer process: consumer, producer and sessions injected by ``run_shadow``."""

    def __init__(self, settings: Settings, consumer, producer, sessions) -> None:
        m = settings.model
        self.consumer, self.producer, self.sessions = consumer, producer, sessions
        # classifier.serving.inference.InferenceEngine of the shadow version, None when idle
        self.engine = None
        self.collector = BatchCollector(consumer, Limits(m.max_batch_size, m.max_batch_tokens,
                                                         m.max_wait_ms / 1000, m.max_length),
                                        read=read_classified)
        self.dead = fk.DeadLetterer(producer, settings.kafka.topics.dlq, STAGE)
        self.commits = fk.CommitWatch.for_settings(settings.kafka)
        self.total = Stats()

    @property
    def version(self) -> str | None:
        return self.engine.version if self.engine is not None else None

    def switch(self, watcher: ShadowWatcher | None) -> None:
        change = watcher.take() if watcher else None
        if change is not None:
            before = self.version
            (self.engine,) = change
            log.info("shadow: %s -> %s", before or "none", self.version or "none (idle)")
            self.total.switches += 1

    def skip(self) -> None:
        """No shadow version: consume and commit without scoring."""
        records = self.collector.drain(IDLE_POLL_S)
        self._commit(records)
        self.total.skipped += len(records)

    def score(self, batch: Batch, stop: threading.Event) -> None:
        """Score, write, flush the dead letters, then commit the batch's offsets."""
        engine = self.engine
        items = [(rec, msg) for rec, msg, _ in batch.items
                 if msg.prediction.model_version != engine.version]
        rows = []
        if items:
            predictions = engine.predict([msg.article.content for _, msg in items])
            now = utcnow()
            rows = [shadow_row(msg, pred, now) for (_, msg), pred in zip(items, predictions, strict=False)]
        for rec, reason in batch.dead:
            self.dead.record(rec, reason)
        self._write_with_retry(rows, [rec for rec, _ in items], stop)
        self.producer.flush()
        self._commit(batch.records)
        self.total.scored += len(rows)
        self.total.skipped += len(batch.items) - len(items)
        self.total.dead_lettered += len(batch.dead)
        self.total.batches += 1

    def _write(self, rows: list[dict]) -> None:
        if rows:
            with self.sessions.begin() as session:
                write_shadow(session, rows)

    def _write_with_retry(self, rows: list[dict], records: list[ConsumerRecord],
                          stop: threading.Event) -> None:
        try:
            retry_while_unavailable(lambda: self._write(rows), stop)
        except OperationalError:  # still unavailable, and stopping
            raise
        except DBAPIError as exc:  # refused for a reason of its own: isolate the bad rows
            log.warning("shadow batch refused by the database (%s); writing one by one", exc.orig)
            self._write_one_by_one(rows, records)

    def _write_one_by_one(self, rows: list[dict], records: list[ConsumerRecord]) -> None:
        for row, rec in zip(rows, records, strict=False):
            try:
                self._write([row])
            except OperationalError:
                raise
            except DBAPIError as exc:
                self.dead.record(rec, f"database refused the shadow row of article "
                                      f"{row['article_id']}: {exc.orig}")
                self.total.dead_lettered += 1

    def _commit(self, records: list[ConsumerRecord]) -> None:
        self.commits.record(fk.commit_processed(self.consumer, fk.next_offsets(records)))

    def run(self, stop: threading.Event, watcher: ShadowWatcher | None = None,
            log_every_s: float = 30.0) -> Stats:
        last_log = time.monotonic()
        while not stop.is_set():
            self.switch(watcher)
            if self.engine is None:
                self.skip()
            else:
                batch = self.collector.next_batch()
                if batch.records:
                    self.score(batch, stop)
            if time.monotonic() - last_log >= log_every_s:
                log.info(self.total.line(self.version))
                last_log = time.monotonic()
        return self.total


def load_shadow_engine(settings: Settings, version: str):  # classifier.serving.inference.InferenceEngine
    return registry.load_engine(settings, registry.resolve(settings, version))


def run_shadow(settings: Settings, stop: threading.Event, *, consumer=None, producer=None,
               poll_s: float | None = None) -> Stats:
    """Run until ``stop`` is set, following the registry's shadow version."""

    registry.shadow_version(settings)  # fail fast when the registry is unreachable
    every_s = settings.model.shadow_poll_s if poll_s is None else poll_s
    with fk.stream_clients(settings.kafka, group_id=settings.group("shadow"),
                           topics=[settings.kafka.topics.classified], client_id="shadow",
                           max_poll_records=settings.model.max_batch_size,
                           consumer=consumer, producer=producer) as (consumer, producer):
        watcher = ShadowWatcher(lambda: registry.shadow_version(settings),
                                lambda v: load_shadow_engine(settings, v), every_s, stop)
        try:
            watcher.check()
        except Exception:  # start idle; the watcher retries every poll
            log.exception("could not load the shadow model; retrying every %.0f s", every_s)
        watcher.start()
        scorer = ShadowScorer(settings, consumer, producer, session_factory(settings.database))
        return scorer.run(stop, watcher)
