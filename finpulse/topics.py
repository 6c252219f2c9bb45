"""Topic administration on any Kafka cluster: create the finpulse topics that are missing, and
list the topics there. Used by ``finpulse broker start`` and ``finpulse up``, by ingest before
its first send, and by tests and benchmarks that make their own topics.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.errors import InvalidReplicationFactorError, KafkaError, TopicAlreadyExistsError

from finpulse.errors import FinpulseError
from finpulse.settings import KafkaSettings


class TopicAdminError(FinpulseError):
    """The cluster could not be reached, or refused to create a topic; the message says why."""


def ensure_topics(kafka: KafkaSettings, *, timeout_s: float = 30.0) -> None:
    """Create every topic in ``kafka.topics.all()`` that does not exist yet, and wait until each
    has a leader. Retries for up to ``timeout_s`` while a fresh broker is still registering.
    Raises TopicAdminError if the cluster cannot be reached or refuses."""
    try:
        _create_missing_topics(kafka, timeout_s)
    except KafkaError as exc:
        raise TopicAdminError(
            f"could not ensure topics {kafka.topics.all()} on {kafka.bootstrap_servers}: {exc!r}"
        ) from exc


def _create_missing_topics(kafka: KafkaSettings, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with _admin(kafka) as admin:
        while True:
            existing = set(admin.list_topics())
            missing = [t for t in kafka.topics.all() if t not in existing]
            if not missing:
                return
            spec = {
                name: {
                    "num_partitions": kafka.partitions,
                    "replication_factor": kafka.replication_factor,
                }
                for name in missing
            }
            try:
                admin.create_topics(spec, timeout_ms=30_000, wait_for_metadata=True)
                return
            except TopicAlreadyExistsError:
                continue  # created meanwhile by someone else; look again for the rest
            except InvalidReplicationFactorError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)


def _admin(kafka: KafkaSettings) -> KafkaAdminClient:
    """An admin client on ``bootstrap_servers``."""
    return KafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=f"{kafka.client_id}-broker-admin",
        request_timeout_ms=30_000,
    )


def list_topics(kafka: KafkaSettings) -> list[str]:
    """The non-internal topics on the cluster, sorted."""
    with _admin(kafka) as admin:
        return sorted(t for t in admin.list_topics() if not t.startswith("__"))
