"""A small process supervisor for ``finpulse up``: starts each part as its own process, prefixes
its output with its name, restarts a part that dies (with backoff), and stops them all cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    _pump: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children
        )
        self.started_at = time.monotonic()
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        width = 10
        for line in iter(self.proc.stdout.readline, b""):
            text = line.decode("utf-8", "replace").rstrip()
            sys.stdout.write(f"{self.name:<{width}}| {text}\n")
            sys.stdout.flush()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)

    def wait_or_kill(self, timeout_s: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs; killing it", self.name, timeout_s)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Supervisor:
    """Keeps a set of children running until ``stop`` is set."""

    def __init__(self, max_backoff_s: float = 60.0) -> None:
        self.children: list[Child] = []
        self.max_backoff_s = max_backoff_s

    def add(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, argv, env)
        child.start()
        self.children.append(child)
        log.info("started %s (pid %s)", name, child.proc.pid if child.proc else "?")
        return child

    def watch(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Restart children that exit, with exponential backoff, until ``stop`` is set."""
        while not stop.wait(poll_s):
            for child in self.children:
                if child.alive():
                    continue
                code = child.proc.returncode if child.proc else None
                backoff = min(2 ** child.restarts, self.max_backoff_s)
                if time.monotonic() - child.started_at < backoff:
                    continue
                log.warning("%s exited with %s; restarting (restart #%d)", child.name, code,
                            child.restarts + 1)
                child.restarts += 1
                child.start()

    def stop_all(self, timeout_s: float = 20.0) -> None:
        for child in reversed(self.children):
            child.terminate()
        for child in reversed(self.children):
            child.wait_or_kill(timeout_s)
