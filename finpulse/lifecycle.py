"""Process lifecycle for long-running parts: logging set-up, a stop flag that SIGINT, SIGTERM
and SIGHUP raise (so loops finish their current batch and exit cleanly), and the tie between a
supervised part and its supervisor (a part never outlives ``finpulse up``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, MutableMapping

# Set by the supervisor in each child's environment: the pid the child must not outlive.
SUPERVISOR_PID_ENV = "FINPULSE_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1
_PR_GET_PDEATHSIG = 2


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    # Libraries that narrate every connection and start-up step at INFO.
    for noisy in ("kafka", "alembic.runtime", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # kafka-python warns whenever a poll took >100 ms, which a busy 2-core machine always does.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)


def stop_on_signals() -> threading.Event:
    """An Event set on SIGINT, SIGTERM or SIGHUP (call from the main thread)."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _handler)
    return stop


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies, however the parent
    ends (SIGKILL included). Linux only; returns whether it was set. Survives ``exec``, so it
    also holds for a part that becomes another program (the dashboard becomes Streamlit)."""
    hook = parent_death_hook(sig)
    return hook is not None and hook()


def parent_death_hook(sig: int = signal.SIGTERM) -> Callable[[], bool] | None:
    """``die_with_parent`` as a function safe to run between fork and exec (``preexec_fn``):
    libc is loaded here, in the parent, so the child makes one system call and nothing else."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def parent_death_signal() -> int:
    """The signal this process gets when its parent dies (0: none, or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    sig = ctypes.c_int(0)
    return sig.value if prctl(_PR_GET_PDEATHSIG, ctypes.byref(sig), 0, 0, 0) == 0 else 0


def follow_supervisor(environ: MutableMapping[str, str]) -> None:
    """In a part started by the supervisor: end when the supervisor ends.

    The variable is removed from ``environ`` so that processes this part starts in turn (a
    retraining job) are not tied to a pid that is not their parent. If the supervisor is
    already gone when this runs, the part stops at once."""
    wanted = environ.pop(SUPERVISOR_PID_ENV, None)
    if not wanted or not wanted.isdigit():
        return
    die_with_parent()
    if os.getppid() != int(wanted):  # the supervisor died before the tie was made
        os.kill(os.getpid(), signal.SIGTERM)
