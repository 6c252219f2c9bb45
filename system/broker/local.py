"""Start, stop and report on the local broker, one combined KRaft broker+controller (no
ZooKeeper; Kafka 4.x has none). ``start`` fetches the jars if needed (``jars``), formats the
storage once (``storage``) and launches the JVM detached from the caller (``process``). Every
function takes the ``KafkaSettings`` handed down from the entry point; nothing here reads
``os.environ``.
"""

from __future__ import annotations

import fcntl
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from finpulse.errors import ConfigError
from finpulse.probe import is_reachable
from finpulse.settings import KafkaSettings, LocalBrokerSettings
from finpulse.topics import ensure_topics, list_topics
from system.broker.errors import BrokerError
from system.broker.jars import Progress, ensure_jars
from system.broker.java import require_java
from system.broker.process import alive, launch, log_file, managed_pid, pid_file, tail_log, terminate
from system.broker.storage import data_dir, format_storage, write_config


@dataclass(frozen=True)
class BrokerStatus:
    """What ``status`` found: whether Kafka answers, and whether it is the broker we manage."""

    running: bool
    bootstrap: str
    pid: int | None
    managed: bool
    topics: list[str] = field(default_factory=list)
    detail: str = ""


def local_bootstrap(local: LocalBrokerSettings) -> str:
    """The address the managed broker's client listener answers on."""
    return f"{local.host}:{local.port}"


def start(kafka: KafkaSettings, *, progress: Progress = print, tie_to_parent: bool = False) -> None:
    """Make sure a broker answers on ``bootstrap_servers`` and the finpulse topics exist.

    If Kafka already answers (ours or anyone's), only the topics are ensured. Otherwise the
    jars are fetched if needed, the storage formatted once, and the broker started detached.
    Concurrent calls are serialised by a lock file in data_dir; running it twice is harmless.
    """
    local = kafka.local
    if is_reachable(kafka.bootstrap_servers):
        progress(f"Kafka already answers on {kafka.bootstrap_servers}")
        ensure_topics(kafka)
        return
    if local_bootstrap(local) not in kafka.bootstrap_servers.split(","):
        progress(
            f"note: bootstrap_servers is {kafka.bootstrap_servers!r} but the local broker "
            f"listens on {local_bootstrap(local)}"
        )
    started = time.monotonic()
    with _start_lock(local):
        pid = managed_pid(local)
        if pid is None:
            pid = _start_new(kafka, progress, tie_to_parent)
        else:  # started by another run moments ago, or hung: wait for it, or fail with its log
            progress(f"Kafka (pid {pid}) is already starting; waiting for it ...")
        _wait_until_up(kafka, pid)
    ensure_topics(kafka, timeout_s=max(10.0, local.start_timeout_s - (time.monotonic() - started)))
    progress(f"Kafka is up (pid {pid}, {time.monotonic() - started:.1f}s); topics ensured")


@contextmanager
def _start_lock(local: LocalBrokerSettings) -> Iterator[None]:
    """An exclusive lock on ``data_dir/broker.lock`` for the duration of a start."""
    data_dir(local).mkdir(parents=True, exist_ok=True)
    with (data_dir(local) / "broker.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start_new(kafka: KafkaSettings, progress: Progress, tie_to_parent: bool = False) -> int:
    """Fetch, configure, format (first time) and launch the broker; returns its pid."""
    local = kafka.local
    java = require_java()
    _check_ports_free(local)
    libs = ensure_jars(kafka, progress=progress)
    config = write_config(kafka)
    format_storage(java, libs, kafka, config, progress)
    where = local_bootstrap(local)
    progress(f"Starting Kafka {local.kafka_version} on {where} (log: {log_file(local)}) ...")
    return launch(java, libs, kafka, config, tie_to_parent).pid


def _check_ports_free(local: LocalBrokerSettings) -> None:
    """Raise ConfigError if something other than our broker already listens on either port."""
    for port in (local.port, local.controller_port):
        try:
            with socket.create_connection((local.host, port), timeout=1.0):
                pass
        except OSError:
            continue
        raise ConfigError(
            f"port {port} on {local.host} is taken by something that is not this Kafka; "
            "stop it or change kafka.local.port / kafka.local.controller_port"
        )


def _wait_until_up(kafka: KafkaSettings, pid: int) -> None:
    """Poll the client listener until it answers; on death or timeout raise with the log tail."""
    local = kafka.local
    deadline = time.monotonic() + local.start_timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            pid_file(local).unlink(missing_ok=True)
            raise BrokerError(
                f"Kafka (pid {pid}) exited while starting; last lines of {log_file(local)}:\n"
                f"{tail_log(local)}"
            )
        if is_reachable(local_bootstrap(local), timeout_s=1.0):
            return
        time.sleep(0.25)
    stop(kafka, timeout_s=10)
    raise BrokerError(
        f"Kafka did not answer on {local_bootstrap(local)} within {local.start_timeout_s:.0f}s "
        f"(stopped it); last lines of {log_file(local)}:\n{tail_log(local)}"
    )


def stop(kafka: KafkaSettings, *, timeout_s: float = 30) -> bool:
    """Stop the broker ``start`` launched: SIGTERM, wait, then SIGKILL. True if one was running."""
    local = kafka.local
    pid = managed_pid(local)
    if pid is None:
        pid_file(local).unlink(missing_ok=True)
        return False
    terminate(pid, timeout_s)
    pid_file(local).unlink(missing_ok=True)
    return True


def status(kafka: KafkaSettings) -> BrokerStatus:
    """Whether Kafka answers on ``bootstrap_servers``, which topics it has, and whether the
    broker there is the one ``start`` launched."""
    local = kafka.local
    pid = managed_pid(local)
    running = is_reachable(kafka.bootstrap_servers)
    topics: list[str] = []
    if running:
        try:
            topics = list_topics(kafka)
            detail = f"Kafka answers on {kafka.bootstrap_servers}"
        except Exception as exc:  # noqa: BLE001 - status reports problems, it does not raise them
            detail = f"Kafka answers on {kafka.bootstrap_servers} but listing topics failed: {exc}"
    else:
        detail = f"nothing answers as Kafka on {kafka.bootstrap_servers}"
    if pid is not None:
        detail += f"; managed broker pid {pid}, log {log_file(local)}"
    elif running:
        detail += " (not started by finpulse)"
    return BrokerStatus(running, kafka.bootstrap_servers, pid, pid is not None, topics, detail)
