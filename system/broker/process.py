"""The local broker's JVM as a process: launched detached (its own session) with its output in
``<data_dir>/broker.log`` and its pid in ``<data_dir>/broker.pid``; found again by that pid
(checked to still be a ``kafka.Kafka`` JVM), and ended with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

from finpulse.lifecycle import parent_death_hook
from finpulse.settings import KafkaSettings, LocalBrokerSettings
from system.broker.errors import tail_text
from system.broker.jars import write_log4j2_config
from system.broker.java import JVM_FLAGS
from system.broker.storage import data_dir


def pid_file(local: LocalBrokerSettings) -> Path:
    return data_dir(local) / "broker.pid"


def log_file(local: LocalBrokerSettings) -> Path:
    return data_dir(local) / "broker.log"


def _read_pid(local: LocalBrokerSettings) -> int | None:
    try:
        return int(pid_file(local).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process; reaps it if it is our child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def _is_our_broker(pid: int) -> bool:
    """Whether ``pid`` is alive and is a ``kafka.Kafka`` JVM (guards against a reused pid)."""
    if not alive(pid):
        return False
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file


def managed_pid(local: LocalBrokerSettings) -> int | None:
    """The pid of the broker ``start`` launched, if it is still running."""
    pid = _read_pid(local)
    return pid if pid is not None and _is_our_broker(pid) else None


def launch(java: str, libs: Path, kafka: KafkaSettings, config: Path,
           tie_to_parent: bool = False) -> subprocess.Popen[bytes]:
    """Start ``kafka.Kafka`` detached (own session), output to broker.log, pid to broker.pid.
    With ``tie_to_parent`` it gets SIGTERM (a clean shutdown) when this process ends."""
    local = kafka.local
    log = log_file(local)
    if log.exists():
        log.replace(log.with_suffix(".log.1"))
    cmd = [
        java, f"-Xmx{local.heap}", "-Xms64m", *JVM_FLAGS, "-cp", f"{libs}/*",
        f"-Dlog4j2.configurationFile={write_log4j2_config(local)}",
        "kafka.Kafka", str(config),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=data_dir(local), start_new_session=True, close_fds=True,
            preexec_fn=parent_death_hook() if tie_to_parent else None,
        )  # fmt: skip
    pid_file(local).write_text(f"{proc.pid}\n")
    return proc


def tail_log(local: LocalBrokerSettings, lines: int = 20) -> str:
    """The last ``lines`` lines of broker.log without Java stack frames ("" if no log)."""
    try:
        text = log_file(local).read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not re.match(r"\s+(at |\.\.\. \d+ more)", line)]
    return tail_text("\n".join(kept), lines)


def terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL and wait up to 10s more."""
    _signal(pid, signal.SIGTERM)
    if not _wait_dead(pid, timeout_s):
        _signal(pid, signal.SIGKILL)
        _wait_dead(pid, 10)


def _signal(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True
