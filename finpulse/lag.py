"""Consumer lag per group, read with kafka-python's admin client.

``group_lags`` is pure (offsets in, lag rows out); ``consumer_lag`` does the I/O and turns a
down or unreachable broker into ``BrokerDown`` so the page can explain it instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import KafkaError

from finpulse.errors import RetryableError
from finpulse.probe import is_reachable
from finpulse.settings import KafkaSettings


class BrokerDown(RetryableError):
    """The Kafka broker cannot be reached (the page shows why instead of an error)."""


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


def group_lags(
    committed: Mapping[str, Mapping[tuple[str, int], int | None]],
    ends: Mapping[tuple[str, int], int],
) -> list[Lag]:
    """Lag of every (group, topic, partition): end offset minus committed offset (a partition
    never committed counts its whole log as lag)."""
    out = []
    for group, offsets in sorted(committed.items()):
        for (topic, partition), off in sorted(offsets.items()):
            end = ends.get((topic, partition))
            if end is None:
                continue
            done = off if off is not None and off >= 0 else None
            out.append(Lag(group, topic, partition, done, end, max(0, end - (done or 0))))
    return out


def _group_id(group: Any) -> str:
    if isinstance(group, dict):
        return str(group.get("group_id") or group.get("group"))
    if isinstance(group, tuple | list):
        return str(group[0])
    return str(getattr(group, "group_id", group))


def consumer_lag(kafka: KafkaSettings, *, timeout_s: float = 3.0) -> list[Lag]:
    """Lag of every consumer group named ``<group_prefix>-*`` on the configured cluster."""
    if not is_reachable(kafka.bootstrap_servers, timeout_s=timeout_s):
        raise BrokerDown(f"Kafka at {kafka.bootstrap_servers} is not reachable")
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id=f"{kafka.client_id}-lag",
            request_timeout_ms=int(timeout_s * 1000),
        )
    except KafkaError as exc:
        raise BrokerDown(f"Kafka at {kafka.bootstrap_servers}: {exc!r}") from exc
    try:
        groups = [g for g in map(_group_id, admin.list_groups())
                  if g.startswith(f"{kafka.group_prefix}-")]
        committed: dict[str, dict[tuple[str, int], int | None]] = {}
        if groups:
            for group, offsets in admin.list_group_offsets({g: None for g in groups}).items():
                committed[group] = {(tp.topic, tp.partition): o.offset
                                    for tp, o in offsets.items()}
        wanted = {tp for offsets in committed.values() for tp in offsets}
        ends = {}
        if wanted:
            got = admin.list_partition_offsets(
                {TopicPartition(t, p): OffsetSpec.LATEST for t, p in wanted})
            ends = {(tp.topic, tp.partition): o.offset for tp, o in got.items()}
        return group_lags(committed, ends)
    except KafkaError as exc:
        raise BrokerDown(f"Kafka at {kafka.bootstrap_servers}: {exc!r}") from exc
    finally:
        admin.close()
