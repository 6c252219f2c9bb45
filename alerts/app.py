"""The alerts worker's faust-streaming application.

Topology (all partitioned alike, so a table's changelog partition follows its key):

    news.classified ──agent `fan_out`──► <app id>-contributions  (key = alert fingerprint)
                                         ▲ ticks: a leader timer sends one per partition
    <app id>-contributions ──agent `evaluate`──► tables `buckets` and `states`
                                              ──► Recorder (DB) ──► news.alerts

Faust's windowed tables are not used on purpose: ``on_window_close`` neither receives the
aggregate nor fires until a later event arrives, and expiry runs on wall-clock time. Buckets
are kept by event time (publication) in a plain changelog-backed table instead, and every
alert is evaluated on each event for its key *and* on a timer tick, so windows close on time
for keys that go quiet. Tables can only be written while an event is being processed, which is
why the timer sends ticks through the topic rather than evaluating itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import faust

from alerts.aggregate import Contribution, contributions
from alerts.pipeline import Change, Recorder
from alerts.rule_state import RuleEngine
from alerts.rules import RuleSet
from finpulse.errors import ContractError
from finpulse.schemas import MAX_LETTER_KEY_BYTES, AlertEvent, ClassifiedArticle, DeadLetter, decode
from finpulse.settings import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], float]


def build_app(settings: Settings, rules: RuleSet, recorder: Recorder, *,
              clock: Clock = time.time) -> faust.App:
    kafka, conf = settings.kafka, settings.alerts
    app_id = settings.group("alerts")
    datadir = settings.var_dir / "alerts" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=[f"kafka://{s.strip()}" for s in kafka.bootstrap_servers.split(",")],
        store="memory://",
        topic_replication_factor=kafka.replication_factor,
        topic_partitions=kafka.partitions,
        web_enabled=False,
        autodiscover=False,
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=conf.session_timeout_s,
        broker_heartbeat_interval=min(3.0, conf.session_timeout_s / 3),
        broker_commit_interval=1.0,
        table_standby_replicas=0,
    )
    classified = app.topic(kafka.topics.classified, key_serializer="raw", value_serializer="raw")
    flow = app.topic(f"{app_id}-contributions", key_type=str, value_serializer="json",
                     partitions=kafka.partitions, internal=True)
    out = app.topic(kafka.topics.alerts, key_serializer="raw", value_serializer="raw")
    dlq = app.topic(kafka.topics.dlq, key_serializer="raw", value_serializer="raw")
    buckets = app.Table("buckets", default=None, partitions=kafka.partitions)
    states = app.Table("states", default=None, partitions=kafka.partitions)
    counted = app.Table("counted", default=None, partitions=kafka.partitions)
    engine = RuleEngine(rules, buckets, states, lateness_s=conf.lateness_s, counted=counted)
    ticks = {"n": 0}

    @app.agent(classified)
    async def fan_out(stream: Any) -> None:
        async for event in stream.events():
            found, letter = _contributions_or_letter(rules, event)
            if letter is not None:
                await _send_letter(dlq, event.key, letter)
            for c in found:
                await flow.send(key=c.fingerprint, value={"c": c.to_json()})

    @app.agent(flow)
    async def evaluate(stream: Any) -> None:
        async for event in stream.events():
            partition = event.message.partition
            now = clock()
            value = event.value or {}
            if "tick" in value:
                changes = engine.evaluate_all(now, partition)
                if value.get("expire"):
                    engine.expire(now, partition)
            else:
                c = Contribution.from_json(value["c"])
                engine.ingest(c, now, partition)
                changes = engine.evaluate(c.fingerprint, now)
            if changes:
                for ev in await _record(recorder, changes):
                    await out.send(key=ev.fingerprint.encode(), value=ev.encode())

    @app.timer(interval=conf.evaluate_every_s, on_leader=True)
    async def tick() -> None:
        ticks["n"] += 1
        expire = ticks["n"] % 60 == 0
        for p in range(kafka.partitions):
            await flow.send(key=None, value={"tick": clock(), "expire": expire}, partition=p)

    app.finpulse_engine = engine  # for introspection in tests
    return app


def _contributions_or_letter(rules: RuleSet, event: Any) -> tuple[list[Contribution], DeadLetter | None]:
    """What a ``news.classified`` record contributes, or the dead letter saying why not."""
    msg = event.message
    try:
        article = decode(ClassifiedArticle, event.value)
    except ContractError as exc:
        log.warning("dead-lettering %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
        return [], DeadLetter.wrap(event.value, stage="alerts", error=exc, key=event.key,
                                   topic=msg.topic, partition=msg.partition, offset=msg.offset)
    return contributions(rules.rules, article), None


async def _send_letter(dlq: Any, key: bytes | None, letter: DeadLetter) -> None:
    """Dead-letter without ever failing the agent: a crashed agent would stop the stream."""
    try:
        await dlq.send(key=key[:MAX_LETTER_KEY_BYTES] if key else key, value=letter.encode())
    except Exception as exc:  # noqa: BLE001 - whatever the client raises, the stream goes on
        log.error("could not dead-letter %s[%s]@%s at alerts (%s: %s); going on without it",
                  letter.topic, letter.partition, letter.offset, type(exc).__name__, exc)


async def _record(recorder: Recorder, changes: Sequence[Change]) -> list[AlertEvent]:
    """Store the changes (off the event loop), retrying while the database is unavailable:
    the stream waits rather than forgetting an alert."""
    loop = asyncio.get_running_loop()
    delay = 0.5
    while True:
        try:
            return await loop.run_in_executor(None, recorder.record, changes)
        except Exception:  # any DB failure: log, back off, try again
            log.exception("recording %d alert change(s) failed; retrying in %.1fs", len(changes), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
