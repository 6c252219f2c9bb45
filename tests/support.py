"""Helpers for tests (not fixtures): polling, Kafka reads, child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition

from finpulse.settings import KafkaSettings, Settings

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], T], *, timeout_s: float = 60, every_s: float = 0.25,
               what: str = "condition") -> T:
    """Poll ``check`` until it returns a truthy value; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(every_s)
        last = check()
    return last


def read_topic(kafka: KafkaSettings, topic: str, *, expect: int, timeout_s: float = 60) -> list:
    """Read ``topic`` from the beginning until at least ``expect`` records (or the timeout)."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000,
    )
    records: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def spawn_part(args: list[str], config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``finpulse ARGS`` as a child process using the settings file ``config``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env["FINPULSE_CONFIG"] = str(config)
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "system", *args], cwd=REPO, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )


class InThread:
    """``target(*args, stop=<Event>, **kwargs)`` in a thread of this process (e.g. a worker's
    run function); on exit the stop event is set, the thread joined, and any error re-raised.
    What ``target`` returned is in ``.result["value"]``."""

    def __init__(self, target: Callable[..., object], *args: object, **kwargs: object) -> None:
        import threading

        self.stop = threading.Event()
        self.result: dict[str, object] = {}
        self.thread = threading.Thread(target=self._run, args=(target, args, kwargs), daemon=True)

    def _run(self, target: Callable[..., object], args: tuple, kwargs: dict) -> None:
        try:
            self.result["value"] = target(*args, self.stop, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in __exit__
            self.result["error"] = exc

    def __enter__(self) -> InThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the thread did not stop within 60 s"
        if "error" in self.result:
            raise self.result["error"]


def committed(settings: Settings, group: str, topic: str) -> int:
    """The offsets consumer group ``group`` (a part's name) has committed on ``topic``, summed
    over its partitions."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers,
                             group_id=settings.group(group), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
        return sum(consumer.committed(tp) or 0 for tp in tps)
    finally:
        consumer.close()
