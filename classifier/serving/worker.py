"""``finpulse classify``: the streaming inference worker.

A consumer in group ``<prefix>-classifier`` on ``news.raw`` fills micro-batches (size, token
budget, wait). One helper thread tokenizes each batch (and runs the model's lexical part on it)
and another runs the network on it, so the next batch is prepared while the current one runs;
the main thread meanwhile polls and decodes the next batch and produces the previous one's
results. The main thread produces one
``ClassifiedArticle`` per article to ``news.classified`` (keyed by article id).
Undecodable or unclassifiable messages go to ``news.dlq`` with the reason. Offsets are committed
only after every produce of the batch is acknowledged (at-least-once). The champion is polled
in the background and swapped in between two batches.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from kafka.errors import CommitFailedError, RebalanceInProgressError

from classifier import registry
from classifier.serving.batching import Batch, BatchCollector, Limits
from classifier.serving.inference import InferenceEngine, Probabilities, to_predictions
from classifier.serving.swap import ChampionWatcher
from finpulse import kafka as fk
from finpulse.errors import RetryableError
from finpulse.schemas import ClassifiedArticle
from finpulse.settings import Settings

log = logging.getLogger(__name__)
STAGE = "classifier"


@dataclass
class Prepared:
    batch: Batch
    engine: InferenceEngine
    probs: Future[Probabilities] | None  # tokenized and classified in the helper threads


@dataclass
class Stats:
    """Counters for the periodic log line (and for tests)."""

    classified: int = 0
    dead_lettered: int = 0
    batches: int = 0
    swaps: int = 0
    commit_failures: int = 0  # a rebalance refused a commit: those records will be re-read
    latencies_ms: list[float] = field(default_factory=list)
    since: float = field(default_factory=time.monotonic)

    def line(self, depth: int, version: str) -> str:
        elapsed = max(1e-9, time.monotonic() - self.since)
        lat = sorted(self.latencies_ms) or [0.0]
        line = (f"classifier {version}: {self.classified / elapsed:.1f} articles/s, "
                f"{self.batches} batches (mean {self.classified / max(1, self.batches):.1f}), "
                f"dlq {self.dead_lettered}, queue {depth}, latency p50 {lat[len(lat) // 2]:.0f} ms "
                f"p95 {lat[int(len(lat) * 0.95)]:.0f} ms")
        self.classified = self.dead_lettered = self.batches = 0
        self.latencies_ms, self.since = [], time.monotonic()
        return line


class Worker:
    """One worker process: consumer, producer and engine injected by ``run_worker``."""

    def __init__(self, settings: Settings, consumer, producer, engine: InferenceEngine) -> None:
        m = settings.model
        self.kafka, self.topics = settings.kafka, settings.kafka.topics
        self.consumer, self.producer, self.engine = consumer, producer, engine
        self.collector = BatchCollector(consumer, Limits(m.max_batch_size, m.max_batch_tokens,
                                                         m.max_wait_ms / 1000, m.max_length))
        self.dead = fk.DeadLetterer(producer, self.topics.dlq, STAGE)
        self.commits = fk.CommitWatch.for_settings(settings.kafka)
        # One thread each: batches are tokenized, and classified, in order and one at a time.
        self.tokenizer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize")
        self.model_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
        self.stats = Stats()
        self.total = Stats()

    def prepare(self, batch: Batch) -> Prepared:
        """Start tokenizing, then classifying, ``batch`` with the current engine in the helper
        threads (the tokenizer and the network release the GIL, so the main thread's polling,
        decoding and producing run meanwhile)."""
        texts = [article.content for _, article, _ in batch.items]
        if not texts:
            return Prepared(batch, self.engine, None)
        engine = self.engine
        encoded = self.tokenizer_pool.submit(engine.encode, texts, with_lexical=True)
        return Prepared(batch, engine, self.model_pool.submit(lambda: engine.run(encoded.result())))

    def finish(self, prepared: Prepared) -> None:
        """Classify, produce, wait for the acks, then commit the batch's offsets."""
        batch, engine = prepared.batch, prepared.engine
        sends = []
        if prepared.probs is not None:
            probs = prepared.probs.result()
            now = time.perf_counter()
            latencies = [(now - received) * 1000 for _, _, received in batch.items]
            predictions = to_predictions(probs, engine.version, latencies)
            for (rec, article, _), pred in zip(batch.items, predictions, strict=False):
                # Tickers are ingest's to find (ingest/tickers.py); the classifier passes them on.
                msg = ClassifiedArticle(article=article, prediction=pred, tickers=sorted(article.tickers))
                try:
                    sends.append(fk.send_message(self.producer, self.topics.classified, article.id,
                                                 msg, kafka=self.kafka))
                except fk.MessageTooLarge as exc:
                    batch.dead.append((rec, f"article {article.id}: {exc}"))
            self.stats.latencies_ms.extend(latencies)
        for rec, reason in batch.dead:
            self.dead.record(rec, reason)
        self.producer.flush()
        failed = [f.exception for f in sends if f.failed()]
        if failed:
            raise RetryableError(f"{len(failed)} produce(s) to {self.topics.classified} failed: {failed[0]}")
        self._commit(batch)
        for s in (self.stats, self.total):
            s.classified += len(batch.items)
            s.dead_lettered += len(batch.dead)
            s.batches += 1 if batch.items else 0

    def _commit(self, batch: Batch) -> None:
        try:
            committed = fk.commit_processed(self.consumer, fk.next_offsets(batch.records))
        except (CommitFailedError, RebalanceInProgressError) as exc:
            # The group rebalanced: another member will re-read these records (duplicates are
            # allowed downstream; losses are not).
            log.warning("offset commit failed after a rebalance; records will be re-read: %s", exc)
            committed = False
        if not committed:
            self.total.commit_failures += 1
        self.commits.record(committed)

    def maybe_swap(self, watcher: ChampionWatcher | None) -> None:
        new = watcher.take() if watcher else None
        if new is not None:
            log.info("hot swap: %s -> %s (%s %s: %s)", self.engine.version, new.version, new.runtime,
                     new.precision, new.path_reason)
            self.engine = new
            self.total.swaps += 1

    def run(self, stop: threading.Event, watcher: ChampionWatcher | None = None,
            log_every_s: float = 10.0) -> Stats:
        pending: Prepared | None = None
        last_log = time.monotonic()
        try:
            while not stop.is_set():
                self.maybe_swap(watcher)
                batch = self.collector.next_batch()
                upcoming = self.prepare(batch) if batch.records else None
                if pending is not None:
                    self.finish(pending)
                pending = upcoming
                if time.monotonic() - last_log >= log_every_s:
                    log.info(self.stats.line(self.collector.depth, self.engine.version))
                    last_log = time.monotonic()
            if pending is not None:
                self.finish(pending)
        finally:
            self.tokenizer_pool.shutdown(wait=False)
            self.model_pool.shutdown(wait=False)
        return self.total


def run_worker(settings: Settings, stop: threading.Event, *, model: str | None = None,
               consumer=None, producer=None, swap_every_s: float = 3.0,
               engine: InferenceEngine | None = None) -> Stats:
    """Run until ``stop`` is set. ``model`` pins a version or folder, and ``engine`` an engine
    already loaded (benchmarks): no hot swap with either; otherwise the champion runs and is
    swapped when it changes."""
    pinned = model is not None or engine is not None
    engine = engine or registry.load_engine(settings, registry.resolve(settings, model))
    log.info("classifier serving %s (%s %s on %s, %d sub-batch(es) at once): %s", engine.version,
             engine.runtime, engine.precision, engine.device, engine.parallel_batches, engine.path_reason)
    with fk.stream_clients(settings.kafka, group_id=settings.group("classifier"),
                           topics=[settings.kafka.topics.raw], client_id="classifier",
                           max_poll_records=settings.model.max_batch_size,
                           consumer=consumer, producer=producer) as (consumer, producer):
        watcher = None
        if not pinned:
            watcher = ChampionWatcher(lambda: registry.champion_version(settings),
                                      lambda v: registry.load_engine(settings, registry.resolve(settings, v)),
                                      engine.version, swap_every_s, stop)
            watcher.start()
        return Worker(settings, consumer, producer, engine).run(stop, watcher)
