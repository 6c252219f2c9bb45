"""The feed behind ``GET /v1/stream``: classified articles and alerts read from Kafka, as
server-sent events that a client can resume.

A stream has its own kafka-python consumer with no group (``group_id=None``, partitions
assigned by hand): API processes never rebalance each other and nothing is committed. The
position lives with the client instead: every event's ``id`` is an opaque token holding, for
every partition of the stream's topics, the offset after that event (base64url of compact
JSON ``{"c": {"0": 124, "1": 7}, "a": {"0": 3}}``; ``c`` is the classified topic, ``a`` the
alerts topic). Reconnecting with it resumes right after that event.

kafka-python blocks, so the consumer runs in a thread of its own (``Feed``), which decodes,
filters and numbers the records and hands the events to the response's async generator
through a bounded queue: a slow client slows the consumer down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from api import tokens
from finpulse.errors import ContractError
from finpulse.schemas import AlertEvent, ClassifiedArticle, decode
from finpulse.settings import KafkaSettings

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0  # a ``: keep-alive`` comment after this long without an event
QUEUE_SIZE = 1000  # events between the consumer thread and the response, at most
POLL_MS = 500  # how long one poll waits; also how soon a stopped feed notices
TYPES = ("article", "alert")
KEYS = {"article": "c", "alert": "a"}  # event type -> the token's key for its topic
_END = object()
_threads = itertools.count(1)

Positions = dict[str, dict[int, int]]  # token key -> partition -> next offset


def encode_token(positions: Mapping[str, Mapping[int, int]]) -> str:
    body = {key: {str(p): off for p, off in sorted(parts.items())}
            for key, parts in sorted(positions.items()) if parts}
    return tokens.pack(body)


def decode_token(token: str) -> Positions:
    """The positions in an event id; ``ValueError`` if it is not one this stream handed out."""
    bad = ValueError("last_event_id: not an event id from this stream (pass the `id` of the "
                     "last event received, unchanged)")
    try:
        raw = tokens.unpack(token)
    except ValueError as exc:
        raise bad from exc
    if not isinstance(raw, dict) or not set(raw) <= set(KEYS.values()):
        raise bad
    out: Positions = {}
    for key, parts in raw.items():
        if not isinstance(parts, dict):
            raise bad
        out[key] = {}
        for p, off in parts.items():
            if not (isinstance(p, str) and p.isascii() and p.isdigit() and type(off) is int and off >= 0):
                raise bad
            out[key][int(p)] = off
    return out


@dataclass(frozen=True)
class Filters:
    types: frozenset[str] = frozenset(TYPES)
    tickers: frozenset[str] = frozenset()  # articles naming any of these (case-insensitive)
    topics: frozenset[str] = frozenset()  # articles of any of these topics

    def wants(self, msg: ClassifiedArticle) -> bool:
        if self.tickers and not self.tickers & {t.upper() for t in msg.tickers}:
            return False
        return not self.topics or msg.prediction.topic in self.topics


def parse_types(values: Iterable[str] | None) -> frozenset[str]:
    """``types=article,alert`` (or repeated): the event types asked for."""
    if not values:
        return frozenset(TYPES)
    asked = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(asked - set(TYPES))
    if unknown or not asked:
        raise ValueError(f"types: unknown event type(s) {', '.join(map(repr, unknown)) or '(none)'}; "
                         f"expected a comma-separated list of {', '.join(TYPES)}")
    return frozenset(asked)


def article_json(msg: ClassifiedArticle) -> dict[str, Any]:
    a, p = msg.article, msg.prediction
    return {"id": a.id, "title": a.title, "source": a.source, "url": a.url,
            "published": a.published.isoformat(), "tickers": list(msg.tickers), "topic": p.topic,
            "topic_confidence": p.topic_confidence, "sentiment": p.sentiment,
            "sentiment_score": p.sentiment_score, "model_version": p.model_version,
            "classified_at": p.classified_at.isoformat()}


@dataclass(frozen=True)
class Event:
    name: str
    data: str  # one line of JSON
    id: str

    def sse(self) -> str:
        return f"id: {self.id}\nevent: {self.name}\ndata: {self.data}\n\n"


def open_consumer(kafka: KafkaSettings, types: frozenset[str], *, resume: Positions | None,
                  since: datetime | None) -> tuple[KafkaConsumer, dict[str, str], Positions]:
    """A group-less consumer assigned every partition of the topics of ``types``, each at its
    start: the token's offset (kept within what the partition holds) with ``resume``, the first
    record at or after ``since`` otherwise, else the end. Returns the consumer, topic name ->
    token key, and the start positions (with ``resume``'s positions of the topics not read, so
    a later token still carries them). Raises kafka-python's ``KafkaError`` when Kafka fails."""
    topics = {kafka.topics.classified: KEYS["article"], kafka.topics.alerts: KEYS["alert"]}
    topics = {name: key for name, key in topics.items()
              if key in {KEYS[t] for t in types}}
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, client_id=f"{kafka.client_id}-api-stream",
        group_id=None, enable_auto_commit=False, auto_offset_reset="latest",
        max_poll_records=200,
    )
    try:
        positions: Positions = {k: dict(v) for k, v in (resume or {}).items()
                                if k not in topics.values()}
        assigned = []
        for name in topics:
            parts = consumer.partitions_for_topic(name)
            if not parts:
                log.warning("stream: topic %s has no partitions (does it exist?)", name)
            assigned += [TopicPartition(name, p) for p in sorted(parts or ())]
        consumer.assign(assigned)
        if not assigned:
            return consumer, topics, positions
        end = consumer.end_offsets(assigned)
        begin = consumer.beginning_offsets(assigned)
        found = (consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in assigned})
                 if since is not None and resume is None else {})
        for tp in assigned:
            key = topics[tp.topic]
            stored = (resume or {}).get(key, {}).get(tp.partition)
            if stored is not None:
                offset = min(max(stored, begin[tp]), end[tp])
            elif found.get(tp) is not None:
                offset = found[tp].offset
            else:
                offset = end[tp]
            consumer.seek(tp, offset)
            positions.setdefault(key, {})[tp.partition] = offset
        return consumer, topics, positions
    except BaseException:
        consumer.close()
        raise


class Feed:
    """The consumer's thread: polls, decodes, filters, and puts ``Event``s on a bounded queue
    of the response's event loop. ``stop()`` ends it; the thread closes the consumer."""

    def __init__(self, consumer: KafkaConsumer, topics: Mapping[str, str], positions: Positions,
                 filters: Filters) -> None:
        self._consumer, self._topics, self._filters = consumer, dict(topics), filters
        self._positions = {k: dict(v) for k, v in positions.items()}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[object] | None = None
        self._room = threading.BoundedSemaphore(QUEUE_SIZE)  # free places in the queue

    def start(self) -> None:
        """Start the thread; call from the event loop that will read ``events()``."""
        with self._lock:
            if self._closed or self._thread is not None:
                return
            self._loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()  # bounded by ``_room``
            self._thread = threading.Thread(target=self._run, name=f"finpulse-stream-{next(_threads)}",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Idempotent. A feed never started closes its consumer here, at once."""
        self._stop.set()
        with self._lock:
            if self._thread is None and not self._closed:
                self._closed = True
                self._consumer.close()

    async def next(self, timeout_s: float) -> Event | None:
        """The next event; ``None`` after ``timeout_s`` without one; ``StopAsyncIteration``
        when the feed has ended."""
        assert self._queue is not None, "start() first"
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None
        if item is _END:
            raise StopAsyncIteration
        self._room.release()
        assert isinstance(item, Event)
        return item

    # --- the thread ---

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for records in self._consumer.poll(timeout_ms=POLL_MS).values():
                    for rec in records:
                        event = self._event(rec)
                        if event is not None and not self._put(event):
                            return
        except Exception:  # any failure ends this stream, logged; the client resumes
            log.exception("stream: reading Kafka failed; ending this stream")
        finally:
            with self._lock:
                self._closed = True
            self._consumer.close()
            self._put(_END, wait=False)

    def _event(self, rec: ConsumerRecord) -> Event | None:
        key = self._topics[rec.topic]
        self._positions.setdefault(key, {})[rec.partition] = rec.offset + 1
        try:
            if key == KEYS["article"]:
                msg = decode(ClassifiedArticle, rec.value)
                if "article" not in self._filters.types or not self._filters.wants(msg):
                    return None
                name, data = "article", json.dumps(article_json(msg), separators=(",", ":"))
            else:
                name, data = "alert", decode(AlertEvent, rec.value).model_dump_json(by_alias=True)
        except ContractError as exc:
            log.warning("stream: skipping %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, exc)
            return None
        return Event(name, data, encode_token(self._positions))

    def _put(self, item: object, *, wait: bool = True) -> bool:
        """Put ``item`` on the queue, waiting while it is full; False once stopped."""
        assert self._loop is not None and self._queue is not None
        while wait and not self._room.acquire(timeout=POLL_MS / 1000):
            if self._stop.is_set():
                return False
        if self._stop.is_set():  # nobody reads any more
            return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop has closed
            return False
        return True


async def sse(feed: Feed, *, disconnected: Callable[[], Any], limit: int | None) -> AsyncIterator[str]:
    """The response body: the feed's events, a ``: keep-alive`` comment after ``HEARTBEAT_S``
    without one; ends after ``limit`` events, when the client goes, or when the feed ends."""
    feed.start()
    sent, quiet_since = 0, time.monotonic()
    try:
        while limit is None or sent < limit:
            if await disconnected():
                return
            try:
                event = await feed.next(min(1.0, HEARTBEAT_S))
            except StopAsyncIteration:
                return
            if event is not None:
                yield event.sse()
                sent, quiet_since = sent + 1, time.monotonic()
            elif time.monotonic() - quiet_since >= HEARTBEAT_S:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
    finally:
        feed.stop()
