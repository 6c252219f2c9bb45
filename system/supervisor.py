"""A small process supervisor for ``finpulse up``: starts each part as its own process, prefixes
its output with its name, restarts a part that dies (with backoff), and stops them all cleanly.

Children never outlive it: each is started with the supervisor's pid in its environment and
asks the kernel for SIGTERM when its parent dies (``lifecycle.follow_supervisor``), so even a
SIGKILL of the supervisor leaves nothing running. Output goes to the supervisor's stdout; when
that pipe closes (``finpulse up | tee`` ended by Ctrl-C) the output is dropped, never the stop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from finpulse.lifecycle import SUPERVISOR_PID_ENV

log = logging.getLogger(__name__)
# Called after a child exited and before it is started again: (name, exit code, restart number).
OnRestart = Callable[[str, int | None, int], None]


def say(text: str) -> None:
    """Print to stdout, unless stdout is gone (a closed pipe must not stop a shutdown)."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


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
        env = dict(self.env if self.env is not None else os.environ)
        env[SUPERVISOR_PID_ENV] = str(os.getpid())
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children
        )
        self.started_at = time.monotonic()
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        """Copy the child's output, prefixed; keep reading after stdout is gone, so the child
        never blocks on a full pipe."""
        assert self.proc is not None and self.proc.stdout is not None
        width = 10
        for line in iter(self.proc.stdout.readline, b""):
            say(f"{self.name:<{width}}| {line.decode('utf-8', 'replace').rstrip()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.alive():
            assert self.proc is not None
            _signal_group(self.proc.pid, signal.SIGTERM)

    def wait_or_kill(self, timeout_s: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs; killing it", self.name, timeout_s)
            _signal_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


class Supervisor:
    """Keeps a set of children running until ``stop`` is set."""

    def __init__(self, max_backoff_s: float = 60.0, on_restart: OnRestart | None = None) -> None:
        self.children: list[Child] = []
        self.max_backoff_s = max_backoff_s
        self.on_restart = on_restart

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
                self._report_restart(child, code)
                child.start()

    def _report_restart(self, child: Child, code: int | None) -> None:
        if self.on_restart is None:
            return
        try:
            self.on_restart(child.name, code, child.restarts)
        except Exception:  # reporting must never stop the restart itself
            log.exception("could not record the restart of %s", child.name)

    def stop_all(self, timeout_s: float = 20.0) -> None:
        for child in reversed(self.children):
            child.terminate()
        for child in reversed(self.children):
            child.wait_or_kill(timeout_s)
