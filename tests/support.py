"""Helpers for tests (not fixtures): polling, Kafka reads, child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kafka import KafkaConsumer

from finpulse.settings import KafkaSettings

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
        [sys.executable, "-m", "finpulse", *args], cwd=REPO, env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
